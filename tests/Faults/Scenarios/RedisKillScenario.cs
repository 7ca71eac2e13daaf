using System.Diagnostics;
using System.Globalization;

namespace Relay.Faults.Scenarios;

/// <summary>
/// Redis <c>SIGKILL</c> under steady load, restarted on the same data (AOF, appendfsync always) a few seconds later.
/// While it is down every request is refused with 503 (never a 2xx); the relay reconnects by itself; nothing acked
/// before the kill or after the restart is lost.
/// </summary>
internal sealed class RedisKillScenario : IFaultScenario
{
    public string Name => "redis-kill";

    public bool NeedsRedis => true;

    public async Task RunAsync(FaultSettings settings, Verdict verdict)
    {
        await using var rig = await Rig.StartAsync(settings, Name, "crm", "archive");
        var redis = await rig.StartRedisAsync("redis");
        var relay = await rig.StartRelayAsync(rig.WriteConfig(Rig.RedisStore(redis.Address)));
        var destination = new Destination("relay", relay.Url);
        using var vendor = new Vendor(rig.Ledger, Name);
        rig.Say(string.Create(CultureInfo.InvariantCulture, $"steady load: {settings.Rate:0} events/s for {settings.Load.TotalSeconds:0} s"));
        var load = vendor.RunAsync(settings.Rate, settings.Load, () => destination);

        await Task.Delay(settings.Load * 0.3);
        redis.Kill();
        var killedAt = Stopwatch.GetTimestamp();
        rig.Say($"redis-server killed with SIGKILL; {rig.Ledger.Acked} events acked so far");
        var down = settings.Load * 0.25;
        await Task.Delay(down);
        var restartingAt = Stopwatch.GetTimestamp();
        await redis.RestartAsync();
        rig.Say(string.Create(CultureInfo.InvariantCulture, $"redis-server restarted on the same data after {down.TotalSeconds:0.0} s down"));

        var stats = await load;
        rig.Say("load: " + stats.Line());
        var drained = await rig.DrainAsync(relay.Url);
        var ledger = rig.Ledger.Close();
        rig.Say(string.Create(CultureInfo.InvariantCulture, $"drained {drained.TotalSeconds:0.0} s after the load; ledger: {ledger.Line()}"));

        verdict.RequireBalanced(ledger);

        // Sent clearly after the kill and before the restart began: the store was gone for the whole request.
        var whileDown = rig.Ledger.AnswersSentBetween(killedAt + (Stopwatch.Frequency / 5), restartingAt);
        var answers = string.Join(", ", whileDown.Select(a => $"{a.Key}: {a.Value}"));
        rig.Say($"answers to events sent while Redis was down: {answers}");
        verdict.Require(whileDown.GetValueOrDefault("503") > 0, "no request was refused with 503 while Redis was down");
        verdict.Require(whileDown.Keys.All(k => k == "503"), $"while Redis was down, answers other than 503: {answers}");
        var firstAck = rig.Ledger.FirstAckAfter(restartingAt);
        verdict.Require(firstAck is not null, "nothing was acked after Redis came back: the relay did not recover without a restart");
        verdict.Report(string.Create(
            CultureInfo.InvariantCulture,
            $"while down: {answers}; first ack {(firstAck is { } f ? Stopwatch.GetElapsedTime(restartingAt, f).TotalSeconds : double.NaN):0.00} s after the restart began, without restarting the relay; "
            + $"acked {ledger.Acked} of {ledger.Sent}; redelivered {ledger.Redelivered}; drained {drained.TotalSeconds:0.0} s after the load"));
    }
}
