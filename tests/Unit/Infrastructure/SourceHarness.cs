using System.Net;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Relay.Sources;
using Relay.Tests.Configuration;

namespace Relay.Tests.Infrastructure;

/// <summary>Drives one source kind's handler directly, without a server: config in, verdicts out.</summary>
internal static class SourceHarness
{
    /// <summary>Loads a relay.yaml holding the one source <paramref name="sourceYaml"/> (a flow mapping body) and returns its handler.</summary>
    /// <param name="folder">The config file's folder, for settings naming files; a new temporary folder when null.</param>
    public static ISourceHandler Handler(string sourceYaml, string? folder = null)
    {
        var (snapshot, errors) = ConfigLoaderTests.Load($"sources:\n  source: {{ {sourceYaml} }}\n", folder: folder);
        Assert.Empty(errors);
        return snapshot!.Sources.Single().Handler;
    }

    /// <summary>The errors relay.yaml holding the one source <paramref name="sourceYaml"/> produces.</summary>
    public static IReadOnlyList<string> Errors(string sourceYaml, string? folder = null) =>
        ConfigLoaderTests.Load($"sources:\n  source: {{ {sourceYaml} }}\n", folder: folder).Errors;

    public static IngressRequest Request(
        byte[] body,
        string? contentType,
        string method = "POST",
        string queryString = "",
        IEnumerable<(string Name, string Value)>? headers = null,
        RouteValueDictionary? routeValues = null,
        IPAddress? remoteIp = null)
    {
        var dictionary = new HeaderDictionary();
        foreach (var (name, value) in headers ?? [])
        {
            dictionary[name] = value;
        }

        return new IngressRequest(method, contentType, queryString, dictionary, body, routeValues ?? [], remoteIp ?? IPAddress.Loopback, DateTimeOffset.UtcNow);
    }
}
