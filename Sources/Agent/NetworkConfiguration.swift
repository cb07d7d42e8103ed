import NetworkSetup

// BootConfig and NetworkSetup each have address types of the same names; this file sees
// only NetworkSetup's and converts the plan's values through their bytes and text.

/// NetworkSetup's MAC address for the plan's `bytes`.
func networkMACAddress(bytes: [UInt8]) -> MACAddress? { MACAddress(bytes: bytes) }

/// NetworkSetup's IP address for the plan's address `text`.
func networkIPAddress(_ text: String) -> IPAddress? { IPAddress(text) }

/// An interface address from the plan's address text and prefix (the address's full
/// length when the plan gave none).
func networkInterfaceAddress(_ text: String, prefixLength: UInt8?) -> InterfaceAddress? {
    IPAddress(text).map { InterfaceAddress($0, prefixLength: prefixLength ?? $0.maximumPrefixLength) }
}

/// The MAC address bytes of a configured interface.
func macBytes(of interface: ConfiguredInterface) -> [UInt8]? { interface.macAddress?.bytes }

/// Why a portal `host` that could not be reached may have no route: it lies outside the
/// interface's subnet and no route through a gateway covers it, so the only way tried was
/// straight on the link (a host route; see `NetworkSetup.hostRoute`), where nothing
/// answered. nil when the portal is on the link or a gateway leads to it.
func missingRouteNote(to host: String, from interface: ConfiguredInterface) -> String? {
    guard let target = IPAddress(host), !interface.address.isOnLink(target),
        !interface.routes.contains(where: { $0.covers(target) && $0.gateway != nil })
    else { return nil }
    return "no route to \(host): it is outside \(interface.name)'s \(interface.address) and no gateway is configured, "
        + "so it was tried as a neighbour on the link and did not answer"
}
