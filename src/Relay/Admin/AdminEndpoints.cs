using Relay.Admin.Console;
using Relay.Configuration;

namespace Relay.Admin;

/// <summary>
/// The admin API: one route group under <c>/admin</c>, behind the key check and the store-outage mapping; and the
/// operator console over it at <c>/admin/ui/</c>.
/// </summary>
internal static class AdminEndpoints
{
    public const string Prefix = "/admin";

    /// <summary>Log category of operator actions (replay, redrive, purge, pause), an audit trail.</summary>
    public const string LogCategory = "Relay.Admin";

    /// <summary>Adds the admin listener (when <c>admin.urls</c> is set) and services; false, having said why, on a bad address.</summary>
    public static bool AddRelayAdmin(this WebApplicationBuilder builder, AdminConfig admin)
    {
        var listener = AdminListener.Configure(builder, admin.Urls, out var error);
        if (error is not null)
        {
            System.Console.Error.WriteLine($"Relay cannot start: {error}");
            return false;
        }

        builder.Services.AddSingleton(listener);
        return true;
    }

    /// <summary>Call before any other middleware, so that a separate admin port serves nothing else.</summary>
    public static void UseRelayAdminPort(this WebApplication app)
    {
        if (app.Services.GetRequiredService<AdminListener>().IsSeparate)
        {
            app.UseMiddleware<AdminPortGate>();
        }
    }

    public static void MapRelayAdmin(this WebApplication app)
    {
        app.MapRelayConsole();
        var admin = app.MapGroup(Prefix)
            .AddEndpointFilter<AdminAuthFilter>()
            .AddEndpointFilter<StoreUnavailableFilter>()
            .DisableAntiforgery();
        admin.MapEventEndpoints();
        admin.MapTargetEndpoints();
        admin.MapOverviewEndpoints();
        admin.MapOrphanEndpoints();
        admin.MapConfigEndpoints();

        // Anything else under /admin is a 404 here, never passed through to the existing app.
        admin.Map("{**rest}", (HttpRequest request) => AdminProblems.NotFound("Not found", $"No admin endpoint {request.Method} {request.Path}."));
    }
}
