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
