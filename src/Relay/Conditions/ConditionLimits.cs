namespace Relay.Conditions;

/// <summary>
/// The caps on a route's <c>when:</c>. The CEL package has no cost limit of its own, so Relay counts the steps an
/// evaluation takes through the variables it reads (<see cref="CostMeter"/>) and stops it past either cap; a stopped
/// evaluation is a failed condition, never a failed ack.
/// </summary>
internal static class ConditionLimits
{
    /// <summary>The longest expression, checked at load.</summary>
    /// <value>4,096 characters.</value>
    public const int MaxLength = 4096;

    /// <summary>
    /// Steps one evaluation may take: a step is a name the expression looks up (the package asks for some names more
    /// than once) or an item read from a list of the event. A condition over a few fields takes a few dozen; a
    /// comprehension about seven per item.
    /// </summary>
    /// <value>100,000 steps.</value>
    public const int MaxSteps = 100_000;

    /// <summary>
    /// Wall-clock time one evaluation may take, checked at every step: it stops expressions whose steps are dear (a
    /// long literal list tested for each item of the body) where the step count alone would not.
    /// </summary>
    /// <value>100 milliseconds.</value>
    public static readonly TimeSpan MaxTime = TimeSpan.FromMilliseconds(100);

    /// <summary>
    /// The step from which <see cref="MaxTime"/> is checked. Below it an evaluation cannot fail on time: a condition
    /// over a few fields takes a few dozen steps, and the first evaluation after start-up (code compiled on first
    /// use), or one caught in a garbage collection, could otherwise take longer than the cap on a busy machine and
    /// lose its event for the route. What fewer steps can cost is bounded by the expression's length.
    /// </summary>
    /// <value>256 steps.</value>
    public const int TimeCheckedFromStep = 256;

    /// <summary>The longest pattern <c>matches()</c> takes, literal or from the event.</summary>
    /// <value>1,000 characters.</value>
    public const int MaxPatternLength = 1000;
}
