using Relay.Hosting;

if (await RelayCommands.TryRunAsync(args) is { } exitCode)
{
    return exitCode;
}

var builder = WebApplication.CreateBuilder(args);
if (!builder.AddRelay())
{
    return 2;
}

var app = builder.Build();
app.MapRelay();
await app.RunAsync();
return 0;
