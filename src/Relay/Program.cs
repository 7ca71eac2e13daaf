using Relay.Hosting;

if (await RelayCommands.TryRunAsync(args) is { } exitCode)
{
    return exitCode;
}

// relay.yaml is the configuration and no appsettings.json ships: the host's watch for appsettings changes (over the
// whole working folder, recursively) would only wake on every write below it, such as the embedded store's data.
var builder = WebApplication.CreateBuilder(["--hostBuilder:reloadConfigOnChange=false", .. args]);
if (!builder.AddRelay())
{
    return 2;
}

var app = builder.Build();
app.MapRelay();
await app.RunAsync();
return 0;
