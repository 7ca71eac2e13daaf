namespace Relay.Store;

/// <summary>What a settle script (complete.lua, fail.lua) answers for one event; the numbers are the scripts' own.</summary>
internal enum SettleOutcome
{
    /// <summary>The claim's lease had run out, and another claim owns the event now: nothing was written.</summary>
    LeaseLost = 0,

    /// <summary>Settled.</summary>
    Settled = 1,

    /// <summary>Settled, and the next event of its ordering key became ready: the target's dispatcher is woken for it.</summary>
    SettledNextKeyReady = 2,
}
