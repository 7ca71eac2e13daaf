using System.Collections.Frozen;
using System.Security.Cryptography;

namespace Relay.Admin.Console;

/// <summary>
/// The console's pages, styles and scripts (<c>Admin/Console/web/</c>), embedded in the relay's assembly at build
/// time: nothing to copy on publish, nothing fetched at run time, and a file can only be served if it was built in.
/// </summary>
internal static class ConsoleAssets
{
    private const string ResourcePrefix = "relay-console/";

    private static readonly FrozenDictionary<string, string> ContentTypes = new Dictionary<string, string>(StringComparer.Ordinal)
    {
        [".html"] = "text/html; charset=utf-8",
        [".css"] = "text/css; charset=utf-8",
        [".js"] = "text/javascript; charset=utf-8",
        [".svg"] = "image/svg+xml",
    }.ToFrozenDictionary(StringComparer.Ordinal);

    private static readonly Lazy<FrozenDictionary<string, ConsoleAsset>> All = new(Load);

    /// <summary>Every embedded file by name (e.g. <c>console.js</c>).</summary>
    public static IReadOnlyDictionary<string, ConsoleAsset> Files => All.Value;

    public static ConsoleAsset Get(string name) =>
        All.Value.TryGetValue(name, out var asset) ? asset : throw new InvalidOperationException($"The console file '{name}' was not embedded; check Relay.csproj.");

    private static FrozenDictionary<string, ConsoleAsset> Load()
    {
        var assembly = typeof(ConsoleAssets).Assembly;
        var files = new Dictionary<string, ConsoleAsset>(StringComparer.Ordinal);
        foreach (var resource in assembly.GetManifestResourceNames().Where(n => n.StartsWith(ResourcePrefix, StringComparison.Ordinal)))
        {
            var name = resource[ResourcePrefix.Length..];
            if (!ContentTypes.TryGetValue(Path.GetExtension(name), out var contentType))
            {
                continue;
            }

            using var stream = assembly.GetManifestResourceStream(resource)!;
            using var copy = new MemoryStream();
            stream.CopyTo(copy);
            var bytes = copy.ToArray();
            files[name] = new ConsoleAsset(name, contentType, bytes, $"\"{Convert.ToHexStringLower(SHA256.HashData(bytes))[..20]}\"");
        }

        return files.ToFrozenDictionary(StringComparer.Ordinal);
    }
}

/// <summary>One embedded file, with its content type and an ETag (a digest of its bytes).</summary>
internal sealed record ConsoleAsset(string Name, string ContentType, byte[] Bytes, string ETag)
{
    public bool IsPage => Name.EndsWith(".html", StringComparison.Ordinal);
}
