// The boot plan's public types carry NetworkAddresses' values (`IPAddress`, `MACAddress`), so
// every user of BootConfig needs that module: re-exporting it here spares each of them the import.
@_exported import NetworkAddresses
