using Relay.Configuration;

namespace Relay.Tests.Configuration;

public sealed class DurationsTests
{
    [Theory]
    [InlineData("250ms", 250)]
    [InlineData("5s", 5_000)]
    [InlineData("1.5s", 1_500)]
    [InlineData("2m", 120_000)]
    [InlineData("1h", 3_600_000)]
    [InlineData("7d", 604_800_000)]
    [InlineData(" 10s ", 10_000)]
    public void TryParse_ValidText_Milliseconds(string text, long expected)
    {
        Assert.True(Durations.TryParse(text, out var value));
        Assert.Equal(expected, (long)value.TotalMilliseconds);
    }

    [Theory]
    [InlineData("")]
    [InlineData("10")]
    [InlineData("s")]
    [InlineData("5 weeks")]
    [InlineData("-5s")]
    [InlineData("5x")]
    [InlineData("99999999999999d")]
    public void TryParse_InvalidText_False(string text) => Assert.False(Durations.TryParse(text, out _));

    [Theory]
    [InlineData(604_800_000, "7d")]
    [InlineData(7_200_000, "2h")]
    [InlineData(90_000, "90s")]
    [InlineData(250, "250ms")]
    public void Format_RoundNumbers_ShortestUnit(long ms, string expected) => Assert.Equal(expected, Durations.Format(TimeSpan.FromMilliseconds(ms)));
}
