using Relay.Store;

namespace Relay.Hosting;

/// <summary>
/// What the relay does instead of serving when its first argument names a command:
/// <c>Relay migrate-partitions [--config relay.yaml]</c> changes the store's partition count to <c>store.partitions</c>.
/// </summary>
public static class RelayCommands
{
    public const string MigratePartitions = "migrate-partitions";

    /// <summary>Runs the command <paramref name="args"/> name; null when they name none, so the relay serves.</summary>
    public static async Task<int?> TryRunAsync(string[] args)
    {
        ArgumentNullException.ThrowIfNull(args);
        if (args.Length == 0 || args[0] != MigratePartitions)
        {
            return null;
        }

        var builder = WebApplication.CreateBuilder(args[1..]);
        if (!builder.AddRelay())
        {
            return 2;
        }

        await using var app = builder.Build();
        var connection = app.Services.GetRequiredService<StoreConnection>();
        await connection.ConnectAsync(checkLayout: false).ConfigureAwait(false);
        try
        {
            var report = await PartitionMigration.RunAsync(connection, connection.Config.Partitions).ConfigureAwait(false);
            Console.WriteLine(report.Before == report.After
                ? $"store.partitions is already {report.After.Partitions}: nothing to migrate."
                : $"Migrated from {report.Before.Partitions} to {report.After.Partitions} partitions: {report.Placed} dedupe keys placed by their " +
                  $"ordering key, {report.Everywhere} (whose event had expired) copied to every partition. Events stay where they are; " +
                  $"replicas read all {report.After.Span} partitions. Start every replica with store.partitions: {report.After.Partitions}.");
            return 0;
        }
        finally
        {
            await connection.StopAsync(CancellationToken.None).ConfigureAwait(false);
        }
    }
}
