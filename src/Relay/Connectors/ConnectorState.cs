namespace Relay.Connectors;

internal enum ConnectorRole
{
    /// <summary>Started; has not yet asked the store for the lease.</summary>
    Starting,

    /// <summary>Another replica holds the lease (or the store could not be asked); this one waits to take over.</summary>
    Standby,

    /// <summary>This replica holds the lease and runs the stream.</summary>
    Holder,

    /// <summary>Stopped: shut down, or the source was removed or changed.</summary>
    Stopped,
}

/// <summary>What one connector is doing, as health checks and the admin API show it.</summary>
/// <param name="LeaseHolder">Owner id of the replica that holds the stream, when known.</param>
/// <param name="DisconnectedSince">While holding the lease without an open stream: since when.</param>
internal sealed record ConnectorStatus(
    string Source,
    ConnectorRole Role,
    bool Connected,
    string Owner,
    string? LeaseHolder,
    DateTimeOffset? ConnectedSince,
    DateTimeOffset? DisconnectedSince,
    DateTimeOffset? LastEventAt,
    long EventsReceived,
    long Reconnects,
    int TokensFetched,
    string? LastError);

/// <summary>
/// The mutable state of one connector. Written by the connector's own loop, read by health checks, metrics and
/// the admin API from other threads, so every change and every read takes the lock.
/// </summary>
internal sealed class ConnectorState(string source, string owner, TimeProvider time)
{
    private readonly Lock _lock = new();
    private ConnectorStatus _status = new(source, ConnectorRole.Starting, false, owner, null, null, null, null, 0, 0, 0, null);

    public string Source => source;

    public ConnectorStatus Status
    {
        get
        {
            lock (_lock)
            {
                return _status;
            }
        }
    }

    public void BecomeStandby(string? holder, string? error = null) =>
        Update(s => s with { Role = ConnectorRole.Standby, LeaseHolder = holder, Connected = false, ConnectedSince = null, DisconnectedSince = null, LastError = error ?? s.LastError });

    public void BecomeHolder() =>
        Update(s => s with { Role = ConnectorRole.Holder, LeaseHolder = owner, Connected = false, DisconnectedSince = time.GetUtcNow() });

    public void Connected(int tokensFetched) =>
        Update(s => s with { Connected = true, ConnectedSince = time.GetUtcNow(), DisconnectedSince = null, TokensFetched = tokensFetched });

    public void Disconnected(string error, bool reconnecting, int tokensFetched) => Update(s => s with
    {
        Connected = false,
        ConnectedSince = null,
        DisconnectedSince = s.DisconnectedSince ?? time.GetUtcNow(),
        Reconnects = s.Reconnects + (reconnecting ? 1 : 0),
        TokensFetched = tokensFetched,
        LastError = error,
    });

    public void EventReceived() => Update(s => s with { LastEventAt = time.GetUtcNow(), EventsReceived = s.EventsReceived + 1 });

    public void Failed(string error) => Update(s => s with { LastError = error });

    public void Stop() => Update(s => s with { Role = ConnectorRole.Stopped, Connected = false, ConnectedSince = null, DisconnectedSince = null });

    private void Update(Func<ConnectorStatus, ConnectorStatus> change)
    {
        lock (_lock)
        {
            _status = change(_status);
        }
    }
}
