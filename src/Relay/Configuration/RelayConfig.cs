using Relay.Conditions;
using Relay.Sources;

namespace Relay.Configuration;

/// <summary>One validated, immutable snapshot of relay.yaml. Swapped as a whole on reload.</summary>
internal sealed record RelayConfig(
    StoreConfig Store,
    IngressConfig Ingress,
    AdminConfig Admin,
    IReadOnlyDictionary<string, SourceConfig> Sources,
    IReadOnlyDictionary<string, TargetConfig> Targets);

/// <param name="Connection">StackExchange.Redis connection string; empty selects the embedded Garnet store.</param>
/// <param name="Retention">How long an event is kept after the last time a target owed it (delivered, or dead letter purged).</param>
/// <param name="DeadLetterRetention">How long a dead letter waits for a redrive before it is purged on its own.</param>
/// <param name="Prefix">Key prefix inside every hash tag, so several relays (or test runs) can share one Redis.</param>
/// <param name="Durability">What an ack waits for besides the store's own fsync; <see cref="StoreDurability.Replicas"/> needs Redis.</param>
/// <param name="MinReplicas">With <see cref="StoreDurability.Replicas"/>: replicas that must confirm a write before it is acked.</param>
/// <param name="ReplicaTimeout">With <see cref="StoreDurability.Replicas"/>: how long an ack waits for them before it is refused (503).</param>
/// <param name="EmbeddedMemory">The embedded store's memory ceiling in bytes (<c>store.embedded.memory</c>): records and their objects.</param>
internal sealed record StoreConfig(
    string Connection,
    string DataDir,
    int Partitions,
    TimeSpan DedupeWindow,
    TimeSpan Retention,
    TimeSpan DeadLetterRetention,
    string Prefix,
    StoreDurability Durability,
    int MinReplicas,
    TimeSpan ReplicaTimeout,
    long EmbeddedMemory)
{
    /// <summary>Default of <c>store.embedded.memory</c>: about 900,000 events waiting or kept (see the README).</summary>
    public const long DefaultEmbeddedMemory = 1024 * ByteSizes.Megabyte;

    /// <summary>Smallest <c>store.embedded.memory</c>: Garnet needs at least 32 of its 4 MB pages.</summary>
    public const long MinEmbeddedMemory = 128 * ByteSizes.Megabyte;

    /// <summary>Largest <c>store.embedded.memory</c>.</summary>
    public const long MaxEmbeddedMemory = 1024 * 1024 * ByteSizes.Megabyte;

    public bool IsEmbedded => Connection.Length == 0;
}

/// <summary>The names <c>store.durability</c> takes.</summary>
internal enum StoreDurability
{
    /// <summary>The store has the write on disk (the embedded store's commit, Redis with appendfsync always).</summary>
    Fsync,

    /// <summary>Also confirmed by <see cref="StoreConfig.MinReplicas"/> Redis replicas (WAITAOF, or WAIT before Redis 7.2).</summary>
    Replicas,
}

/// <param name="MaxConcurrentRequests">Webhook requests verified and stored at once (see <c>Ingress/IngressAdmission</c>).</param>
/// <param name="QueueLimit">Webhook requests that wait for a turn when all are taken; past that, 503.</param>
/// <param name="MaxBufferedBytes">Webhook body bytes held at once while read, waiting and in progress (see <c>Ingress/IngressBodyBudget</c>).</param>
/// <param name="AckBudget">
/// How long after a webhook request starts its ack may come: a request that could no longer be acked in time by when it
/// would get a turn is answered 503 instead (see <c>Ingress/IngressAdmission</c>).
/// </param>
internal sealed record IngressConfig(long MaxBodyBytes, int MaxConcurrentRequests, int QueueLimit, long MaxBufferedBytes, TimeSpan AckBudget)
{
    public const int DefaultMaxConcurrentRequests = 64;

    public const int DefaultQueueLimit = 64;

    public const long DefaultMaxBufferedBytes = 64L * 1024 * 1024;

    /// <summary>The shortest vendor wait Relay knows: Yousign gives its first try 0.5 to 1 s.</summary>
    public static readonly TimeSpan DefaultAckBudget = TimeSpan.FromSeconds(1);
}

internal sealed record AdminConfig(IReadOnlyList<string> ApiKeys, string Urls);

/// <param name="Events">Globs on the event type; empty matches every event.</param>
/// <param name="Tags">The event must carry at least one of these tags; empty matches every event.</param>
/// <param name="When">A CEL condition over the event's data, compiled at load; null matches every event.</param>
internal sealed record RouteConfig(string Target, IReadOnlyList<string> Events, IReadOnlyList<string> Tags, RouteCondition? When = null);

internal sealed record SourceConfig(
    string Id,
    string Kind,
    string? Path,
    AckConfig Ack,
    TimeSpan DedupeWindow,
    IReadOnlyList<RouteConfig> Routes);

internal sealed record RetryConfig(IReadOnlyList<TimeSpan> Schedule, double Jitter);

/// <param name="Key">Standard Webhooks signing key (the base64-decoded part of <c>whsec_...</c>).</param>
internal sealed record SigningConfig(byte[] Key);

/// <param name="OrderedByKey">
/// <c>ordering: key</c>: the events of one ordering key are delivered one at a time, in accept order; other keys flow.
/// </param>
/// <param name="BlockOnDeadLetter">
/// <c>onDeadLetter: block</c> (with ordering): a dead letter holds its key until redriven or purged; otherwise (skip)
/// the key's next event is released.
/// </param>
internal sealed record TargetConfig(
    string Id,
    Uri Url,
    TimeSpan Timeout,
    int Concurrency,
    RetryConfig Retry,
    string? SuccessBody,
    SigningConfig? Signing,
    bool OrderedByKey = false,
    bool BlockOnDeadLetter = false);
