using Relay.Hosting;

var builder = WebApplication.CreateBuilder(args);
if (!builder.AddRelay())
{
    return 2;
}

var app = builder.Build();
app.MapRelay();
await app.RunAsync();
return 0;
