using Microsoft.Extensions.Configuration.EnvironmentVariables;
using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace Relay.Configuration;

/// <summary>
/// relay.yaml as an <see cref="IConfiguration"/> source: mappings become sections, sequences become indexed
/// sections (<c>routes:0:target</c>), scalars become values. Being a file source, it reloads on change, and
/// environment variables added after it override it.
/// </summary>
internal sealed class YamlConfigurationSource : FileConfigurationSource
{
    public override IConfigurationProvider Build(IConfigurationBuilder builder)
    {
        EnsureDefaults(builder);
        return new YamlConfigurationProvider(this);
    }
}

internal sealed class YamlConfigurationProvider(YamlConfigurationSource source) : FileConfigurationProvider(source)
{
    protected override void Dispose(bool disposing)
    {
        if (disposing && Source.FileProvider is ConfigFolderFiles files)
        {
            files.Dispose();
        }

        base.Dispose(disposing);
    }

    public override void Load(Stream stream)
    {
        var yaml = new YamlStream();
        try
        {
            using var reader = new StreamReader(stream);
            yaml.Load(reader);
        }
        catch (YamlException ex)
        {
            throw new FormatException($"relay.yaml is not valid YAML at line {ex.Start.Line}, column {ex.Start.Column}: {ex.Message}", ex);
        }

        var data = new Dictionary<string, string?>(StringComparer.OrdinalIgnoreCase);
        if (yaml.Documents.Count > 0)
        {
            Flatten(yaml.Documents[0].RootNode, "", data);
        }

        Data = data;
    }

    private static void Flatten(YamlNode node, string path, Dictionary<string, string?> data)
    {
        switch (node)
        {
            case YamlMappingNode mapping:
                foreach (var (key, value) in mapping.Children)
                {
                    var name = ((YamlScalarNode)key).Value ?? "";
                    Flatten(value, path.Length == 0 ? name : ConfigurationPath.Combine(path, name), data);
                }

                break;
            case YamlSequenceNode sequence:
                for (var i = 0; i < sequence.Children.Count; i++)
                {
                    Flatten(sequence.Children[i], ConfigurationPath.Combine(path, i.ToString(System.Globalization.CultureInfo.InvariantCulture)), data);
                }

                break;
            case YamlScalarNode scalar:
                data[path] = IsNull(scalar) ? null : scalar.Value;
                break;
        }
    }

    // YAML's null (~, null, or nothing) is "not set", so defaults apply; a quoted "" stays an empty string.
    private static bool IsNull(YamlScalarNode scalar) =>
        scalar.Style == ScalarStyle.Plain && scalar.Value is null or "" or "~" or "null" or "Null" or "NULL";
}

internal static class YamlConfigurationExtensions
{
    public static IConfigurationBuilder AddYamlFile(this IConfigurationBuilder builder, string path, bool reloadOnChange)
    {
        var full = System.IO.Path.GetFullPath(path);
        var source = new YamlConfigurationSource
        {
            Path = System.IO.Path.GetFileName(full),
            Optional = false,
            ReloadOnChange = reloadOnChange,
            FileProvider = new ConfigFolderFiles(System.IO.Path.GetDirectoryName(full)!, System.IO.Path.GetFileName(full)),
        };
        return builder.Add(source);
    }
}

/// <summary>
/// The <c>Relay__Section__Key</c> environment overrides of relay.yaml, as a provider of its own type so that
/// <see cref="ConfigKeys"/> can tell their keys from every other environment variable.
/// </summary>
internal sealed class RelayEnvironmentProvider() : EnvironmentVariablesConfigurationProvider(Prefix)
{
    public const string Prefix = "Relay__";
}

internal sealed class RelayEnvironmentSource : IConfigurationSource
{
    public IConfigurationProvider Build(IConfigurationBuilder builder) => new RelayEnvironmentProvider();
}

internal static class RelayEnvironmentExtensions
{
    /// <summary>Adds the <c>Relay__Section__Key</c> environment overrides of relay.yaml.</summary>
    public static IConfigurationBuilder AddRelayEnvironmentOverrides(this IConfigurationBuilder builder) => builder.Add(new RelayEnvironmentSource());
}
