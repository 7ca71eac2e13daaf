namespace Relay.Tests.Infrastructure;

/// <summary>The repository's root folder (the one holding Relay.sln), found from wherever the tests run.</summary>
internal static class RepositoryFolder
{
    public static string Root { get; } = Find();

    private static string Find()
    {
        var folder = new DirectoryInfo(AppContext.BaseDirectory);
        while (folder is not null && !File.Exists(Path.Combine(folder.FullName, "Relay.sln")))
        {
            folder = folder.Parent;
        }

        return folder?.FullName ?? throw new InvalidOperationException("Relay.sln not found above the test folder.");
    }
}
