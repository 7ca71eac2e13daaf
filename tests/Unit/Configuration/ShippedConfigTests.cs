using System.Text.Json;
using System.Text.RegularExpressions;
using Relay.Configuration;
using Relay.Sources;
using Relay.Tests.Infrastructure;

namespace Relay.Tests.Configuration;

/// <summary>
/// The configuration files in the repository: config/relay.yaml, which the container image ships, and
/// config/relay.dev.yaml, which <c>dotnet run</c> reads. Failure mode: the image's file once fell back to public
/// development secrets, so a container started without them accepted anything signed with a secret from the README.
/// </summary>
public sealed partial class ShippedConfigTests
{
    private static readonly string Shipped = Path.Combine(Repository.Root(), "config", "relay.yaml");
    private static readonly string Development = Path.Combine(Repository.Root(), "config", "relay.dev.yaml");

    [Fact]
    public void Load_ShippedConfigWithoutItsSecrets_ErrorNamesEachVariable()
    {
        var (snapshot, errors) = ConfigLoaderTests.Load(File.ReadAllText(Shipped));

        Assert.Null(snapshot);
        Assert.Equal(
            ["ARCHIVE_WHSEC", "PARTNER_WHSEC", "YOUSIGN_SECRET"],
            errors.Select(e => MissingVariable().Match(e)).Where(m => m.Success).Select(m => m.Groups[1].Value).Order(StringComparer.Ordinal));
        Assert.Equal(3, errors.Count);
    }

    [Fact]
    public void Load_ShippedConfigWithItsSecrets_Valid()
    {
        var (snapshot, errors) = ConfigLoaderTests.Load(File.ReadAllText(Shipped), new()
        {
            ["YOUSIGN_SECRET"] = "a-real-secret",
            ["PARTNER_WHSEC"] = "whsec_" + Convert.ToBase64String(new byte[32]),
            ["ARCHIVE_WHSEC"] = "whsec_" + Convert.ToBase64String(new byte[24]),
        });

        Assert.Empty(errors);
        Assert.Equal(["partner", "yousign"], snapshot!.Config.Sources.Keys.Order(StringComparer.Ordinal));
    }

    [Fact]
    public void ShippedConfig_NoEnvironmentReferenceFallsBackToAValue()
    {
        // ${NAME:-} (an empty fallback, e.g. "no admin key: admin API off") is allowed; ${NAME:-anything} is not.
        Assert.DoesNotMatch(new Regex(@"\$\{[A-Za-z_][A-Za-z0-9_]*:-[^}]+\}"), File.ReadAllText(Shipped));
    }

    [Fact]
    public void Load_DevelopmentConfigWithoutEnvironment_ValidAndTakesTheReadmeExample()
    {
        var (snapshot, errors) = ConfigLoaderTests.Load(File.ReadAllText(Development));

        Assert.Empty(errors);

        // README's worked example signs with the development secret.
        const string Body = """{"event_id":"b6c63685-c556-4a30-8fe9-b6f2b187d936","event_name":"signature_request.done","event_time":"1670855889","sandbox":false,"data":{"signature_request":{"id":"sr-1","status":"done"}}}""";
        var yousign = snapshot!.Sources.Single(s => s.Config.Id == "yousign").Handler;
        var verdict = yousign.Read(SourceHarness.Request(
            System.Text.Encoding.UTF8.GetBytes(Body), "application/json", headers: [("X-Yousign-Signature-256", Signing.YousignSignature("dev-yousign-secret", Body))]));
        Assert.Equal(SourceOutcome.Accepted, verdict.Outcome);
        Assert.Equal("signature_request.done", Assert.Single(verdict.Events).Type);
    }

    [Fact]
    public void DotnetRun_SetsTheDevelopmentEnvironment()
    {
        using var launch = JsonDocument.Parse(File.ReadAllText(Path.Combine(Repository.Root(), "src", "Relay", "Properties", "launchSettings.json")));

        var profile = launch.RootElement.GetProperty("profiles").EnumerateObject().First().Value;
        Assert.Equal("Project", profile.GetProperty("commandName").GetString());
        Assert.Equal("Development", profile.GetProperty("environmentVariables").GetProperty("ASPNETCORE_ENVIRONMENT").GetString());
    }

    [Theory]
    [InlineData(null, null, true, true, "config/relay.dev.yaml")]
    [InlineData(null, null, false, true, "config/relay.yaml")]
    [InlineData(null, null, true, false, "config/relay.yaml")]
    [InlineData("mine.yaml", null, true, true, "mine.yaml")]
    [InlineData(null, "env.yaml", true, true, "env.yaml")]
    [InlineData("mine.yaml", "env.yaml", false, true, "mine.yaml")]
    public void Choose_NamedFileElseDevelopmentFileOnlyInDevelopmentElseRelayYaml(
        string? argument, string? variable, bool isDevelopment, bool developmentFileExists, string expected)
    {
        var folder = new TestFolder().Path;
        Directory.CreateDirectory(Path.Combine(folder, "config"));
        File.WriteAllText(Path.Combine(folder, "config", "relay.yaml"), "");
        if (developmentFileExists)
        {
            File.WriteAllText(Path.Combine(folder, "config", "relay.dev.yaml"), "");
        }

        var chosen = RelayConfigFile.Choose(argument, variable, isDevelopment, folder);

        Assert.Equal(Path.GetFullPath(expected, folder), chosen.Path);
    }

    [GeneratedRegex("environment variable ([A-Z_]+) is not set")]
    private static partial Regex MissingVariable();
}
