using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;
using Relay.Hosting;
using Relay.Store;

namespace Relay.Tests.Infrastructure;

/// <summary>
/// The real relay, in-process: the same AddRelay/MapRelay as Program.cs, Kestrel on a loopback port, a real store,
/// configured by a real YAML file in a temporary folder.
/// </summary>
internal sealed class RelayHost : IAsyncDisposable
{
    private readonly WebApplication _app;

    private RelayHost(WebApplication app, TestFolder folder, string configPath)
    {
        _app = app;
        Folder = folder;
        ConfigPath = configPath;
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        Client = new HttpClient { BaseAddress = new Uri(address), Timeout = TimeSpan.FromSeconds(30) };
    }

    public HttpClient Client { get; }

    public TestFolder Folder { get; }

    public string ConfigPath { get; }

    public IServiceProvider Services => _app.Services;

    public StoreConnection Store => Services.GetRequiredService<StoreConnection>();

    /// <summary>Starts a relay whose config is <paramref name="yaml"/> below a store section for <paramref name="store"/>.</summary>
    /// <param name="configure">Extra setup before the relay is built, e.g. capturing logs.</param>
    /// <param name="storeSettings">More keys of the store section, e.g. "  retention: 1h\n".</param>
    public static async Task<RelayHost> StartAsync(
        TestStore store, string yaml, TestFolder? folder = null, Action<WebApplicationBuilder>? configure = null, string storeSettings = "")
    {
        folder ??= new TestFolder();
        var config = await folder.WriteConfigAsync(folder.StoreYaml(store) + storeSettings + yaml);
        var builder = WebApplication.CreateBuilder(["--config", config, "--urls", "http://127.0.0.1:0", "--Logging:LogLevel:Default=Warning"]);
        if (!builder.AddRelay())
        {
            throw new InvalidOperationException("The test config was rejected; see the test output.");
        }

        configure?.Invoke(builder);
        var app = builder.Build();
        app.MapRelay();
        try
        {
            await app.StartAsync();
        }
        catch
        {
            // A refused start must not leave the embedded store holding the folder's data.
            await app.DisposeAsync();
            throw;
        }

        return new RelayHost(app, folder, config);
    }

    /// <summary>Rewrites the config file (the store section stays) and waits until the relay has reacted to it.</summary>
    public async Task RewriteConfigAsync(TestStore store, string yaml)
    {
        var provider = Services.GetRequiredService<Relay.Configuration.RelayConfigProvider>();
        var before = provider.Current;
        var errorsBefore = provider.LastErrors;
        // Atomic replace, as editors and Kubernetes ConfigMap updates do: the watcher never sees half a file.
        await Folder.WriteConfigAsync(Folder.StoreYaml(store) + yaml);
        var deadline = DateTimeOffset.UtcNow.AddSeconds(15);
        while (ReferenceEquals(provider.Current, before) && ReferenceEquals(provider.LastErrors, errorsBefore) && DateTimeOffset.UtcNow < deadline)
        {
            await Task.Delay(50);
        }
    }

    public async ValueTask DisposeAsync()
    {
        Client.Dispose();
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}

/// <summary>A temporary folder, and a store key prefix unique to one test.</summary>
internal sealed class TestFolder
{
    public string Path { get; } = TempFolders.Create("relay-test-");

    public string Prefix { get; } = "t" + Guid.NewGuid().ToString("N")[..12];

    /// <summary>The <c>store:</c> section for <paramref name="store"/>, with data and key prefix private to this folder.</summary>
    /// <summary>The store's partition count in the configs this folder writes; a test changes it to exercise a migration.</summary>
    public int Partitions { get; set; } = 4;

    public string StoreYaml(TestStore store) => store.StoreYaml(System.IO.Path.Combine(Path, "data"), Prefix, Partitions);

    /// <summary>Writes (atomically replaces) relay.yaml in this folder and returns its path.</summary>
    public async Task<string> WriteConfigAsync(string yaml)
    {
        var config = System.IO.Path.Combine(Path, "relay.yaml");
        var staged = config + ".new";
        await File.WriteAllTextAsync(staged, yaml);
        File.Move(staged, config, overwrite: true);
        return config;
    }
}
