using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;

namespace Relay.Tests.Infrastructure;

/// <summary>
/// Virtual time for a relay under test: its <see cref="TimeProvider"/> (retry schedules, Retry-After, the circuit
/// breaker's window and break, the scheduler's sweeps, poll intervals) moves only when the test moves it, so a test of a
/// 15 s break takes a moment of wall-clock time and asserts exact due times. Network and store timeouts stay real.
/// </summary>
internal sealed class VirtualTime
{
    /// <summary>Starts at the wall clock's now, so ids, indexes and store TTLs look as they do in production.</summary>
    public FakeTimeProvider Clock { get; } = new(DateTimeOffset.UtcNow);

    public DateTimeOffset Now => Clock.GetUtcNow();

    /// <summary>Pass to <see cref="RelayHost.StartAsync"/> as its <c>configure</c> step.</summary>
    public void Use(WebApplicationBuilder builder) => builder.Services.AddSingleton<TimeProvider>(Clock);

    /// <summary>
    /// Moves time on by <paramref name="step"/> at a time, giving the relay a moment of wall-clock time after each step,
    /// until <paramref name="condition"/> holds (true) or <paramref name="timeout"/> of wall-clock time has passed (false).
    /// </summary>
    public async Task<bool> AdvanceUntilAsync(Func<bool> condition, TimeSpan step, TimeSpan timeout)
    {
        var deadline = DateTimeOffset.UtcNow + timeout;
        while (!condition())
        {
            if (DateTimeOffset.UtcNow >= deadline)
            {
                return false;
            }

            Clock.Advance(step);
            await Task.Delay(50);
        }

        return true;
    }
}
