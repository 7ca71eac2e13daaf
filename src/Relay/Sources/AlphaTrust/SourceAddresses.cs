using System.Net;

namespace Relay.Sources.AlphaTrust;

/// <summary>An allow list of source addresses and CIDR ranges (IPv4 and IPv6), checked against the connection's peer.</summary>
internal sealed class SourceAddresses(IReadOnlyList<IPNetwork> networks)
{
    /// <summary>Reads a list such as <c>["203.0.113.7", "198.51.100.0/24"]</c>; null when the key is absent or invalid.</summary>
    public static SourceAddresses? Read(IKindSettings settings, string key)
    {
        if (!settings.Exists(key))
        {
            return null;
        }

        var entries = settings.Strings(key);
        var networks = new List<IPNetwork>(entries.Count);
        for (var i = 0; i < entries.Count; i++)
        {
            var text = entries[i].Trim();
            var slash = text.IndexOf('/', StringComparison.Ordinal);
            if (slash < 0 && IPAddress.TryParse(text, out var address))
            {
                networks.Add(new IPNetwork(address, address.AddressFamily == System.Net.Sockets.AddressFamily.InterNetwork ? 32 : 128));
            }
            else if (slash > 0 && IPNetwork.TryParse(text, out var network))
            {
                // IPNetwork quietly clears host bits (10.0.0.1/8 becomes 10.0.0.0/8); a typo here would open a whole range.
                if (!network.BaseAddress.Equals(IPAddress.Parse(text.AsSpan(0, slash))))
                {
                    settings.Error($"{key}:{i}", $"'{text}' has bits set after the prefix length. Write {network} for the range, or {text[..slash]} for the one address.");
                }

                networks.Add(network);
            }
            else
            {
                settings.Error($"{key}:{i}", $"'{text}' is not an IP address or CIDR range. Write e.g. 203.0.113.7, 203.0.113.0/24 or 2001:db8::/32.");
            }
        }

        return networks.Count == entries.Count && networks.Count > 0 ? new SourceAddresses(networks) : null;
    }

    public bool Contains(IPAddress? address)
    {
        if (address is null)
        {
            return false;
        }

        // Dual-stack listeners report IPv4 peers as ::ffff:a.b.c.d; compare them as the IPv4 address they are.
        if (address.IsIPv4MappedToIPv6)
        {
            address = address.MapToIPv4();
        }

        foreach (var network in networks)
        {
            if (network.Contains(address))
            {
                return true;
            }
        }

        return false;
    }
}
