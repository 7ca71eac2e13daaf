using System.Diagnostics;

namespace Relay.Conditions;

/// <summary>
/// Counts the steps of one evaluation against <see cref="ConditionLimits.MaxSteps"/> and <see cref="ConditionLimits.MaxTime"/>
/// (from <see cref="ConditionLimits.TimeCheckedFromStep"/> on), and stops it past either by throwing from the step
/// that crossed it. The package catches some exceptions inside
/// comprehensions and <c>&amp;&amp;</c>/<c>||</c>, so a spent meter stays spent (every later step throws again) and the
/// evaluation's outcome is read from <see cref="Exceeded"/>, not from whatever the package returned.
/// One meter serves one event's evaluations one after another; it is not for concurrent use.
/// </summary>
internal sealed class CostMeter
{
    private long _steps;
    private long _startedAt;

    /// <summary>Why the current evaluation was stopped; null while it is within its caps.</summary>
    public string? Exceeded { get; private set; }

    public long Steps => _steps;

    /// <summary>Starts counting a new evaluation from zero.</summary>
    public void Start()
    {
        _steps = 0;
        _startedAt = Stopwatch.GetTimestamp();
        Exceeded = null;
    }

    /// <exception cref="ConditionCostException">This step crosses a cap, or one was crossed before.</exception>
    public void Step()
    {
        if (Exceeded is null)
        {
            if (++_steps <= ConditionLimits.MaxSteps
                && (_steps < ConditionLimits.TimeCheckedFromStep || Stopwatch.GetElapsedTime(_startedAt) <= ConditionLimits.MaxTime))
            {
                return;
            }

            Exceeded = _steps > ConditionLimits.MaxSteps
                ? $"cost limit: more than {ConditionLimits.MaxSteps:N0} steps"
                : $"cost limit: ran longer than {ConditionLimits.MaxTime.TotalMilliseconds:N0} ms";
        }

        throw new ConditionCostException(Exceeded);
    }
}

/// <summary>An evaluation crossed a cap of <see cref="ConditionLimits"/>.</summary>
internal sealed class ConditionCostException(string message) : Exception(message);

/// <summary>The event's data cannot be read as the expression asks (e.g. <c>body</c> of a request that is not JSON).</summary>
internal sealed class ConditionDataException(string message) : Exception(message);
