using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Serialization;
using Relay.Configuration;

namespace Relay.Admin;

/// <summary>
/// <c>GET /admin/config/errors</c>: why the edited relay.yaml was rejected, every error in full. The public /readyz
/// only says that it was; the errors name keys, paths and values of the file, which are for operators.
/// </summary>
internal static class AdminConfigEndpoints
{
    public static void MapConfigEndpoints(this RouteGroupBuilder admin) =>
        admin.MapGet("/config/errors", static (RelayConfigProvider configProvider) =>
        {
            var errors = configProvider.LastErrors;
            return TypedResults.Json(new ConfigErrorsView(errors.Count > 0, errors), ConfigErrorsJson.Readable.ConfigErrorsView);
        });
}

/// <param name="Rejected">The file on disk was rejected: the previous configuration is still in force.</param>
/// <param name="Errors">Every error of that file, each naming its key and how to fix it; empty when the file in force is the one on disk.</param>
internal sealed record ConfigErrorsView(bool Rejected, IReadOnlyList<string> Errors);

[JsonSourceGenerationOptions(JsonSerializerDefaults.Web)]
[JsonSerializable(typeof(ConfigErrorsView))]
internal sealed partial class ConfigErrorsJson : JsonSerializerContext
{
    public static ConfigErrorsJson Readable { get; } = new(new JsonSerializerOptions(JsonSerializerDefaults.Web)
    {
        WriteIndented = true,
        Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
    });
}
