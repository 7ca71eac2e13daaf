namespace Relay.Tests.Infrastructure;

/// <summary>Where things are in the repository the tests and the load harness run from.</summary>
internal static class Repository
{
    /// <summary>The folder above this assembly that holds Relay.sln.</summary>
    public static string Root()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "Relay.sln")))
            {
                return dir.FullName;
            }
        }

        throw new InvalidOperationException("Relay.sln not found above " + AppContext.BaseDirectory);
    }

    /// <summary>src/Relay's Relay.dll as built in <paramref name="configuration"/> (Debug or Release).</summary>
    public static string RelayDll(string configuration) => Path.Combine(Root(), "src", "Relay", "bin", configuration, "net10.0", "Relay.dll");
}
