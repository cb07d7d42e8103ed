import NetworkSetup

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
