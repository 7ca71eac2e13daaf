namespace Relay.Tests.Infrastructure;

// The parts of the shared test infrastructure (tests/Shared, also compiled into the load harness) that only make sense
// in this project: they assert or skip with xunit, or read this project's fixtures.

internal static partial class Signing
{
    /// <summary>Reads a vendor sample from tests/Unit/Fixtures.</summary>
    public static string Fixture(string relativePath) => File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "Fixtures", relativePath));
}
