using System.Text.Json.Serialization;

namespace Relay.Store;

/// <summary>Source-generated JSON for what the store keeps as text: no reflection on the hot path.</summary>
[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase, DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(IReadOnlyList<string>))]
[JsonSerializable(typeof(IReadOnlyList<KeyValuePair<string, string>>))]
[JsonSerializable(typeof(AttemptRecord))]
[JsonSerializable(typeof(ConnectorReport))]
internal sealed partial class StoreJson : JsonSerializerContext;
