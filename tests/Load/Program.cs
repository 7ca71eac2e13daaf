using System.CommandLine;
using Relay.Load;
using Relay.Load.Scenarios;
using Relay.Load.Search;
using Relay.Tests.Infrastructure;

var root = new RootCommand("Relay's load harness: a printing sink for trying Relay by hand, the load benchmark, and the search benchmark.");
root.Add(SinkCommand());
root.Add(BenchCommand());
root.Add(SearchCommand());
root.Add(BaselineCommand());
return await root.Parse(args).InvokeAsync().ConfigureAwait(false);

// `sink --port 9001 --name crm`: the README's worked example. Answers 200 and prints every delivery.
static Command SinkCommand()
{
    var port = new Option<int>("--port") { Description = "Port to listen on (127.0.0.1).", Required = true };
    var name = new Option<string>("--name") { Description = "Name printed with each delivery.", DefaultValueFactory = _ => "sink" };
    var command = new Command("sink", "Listen on 127.0.0.1:<port>, answer 200 to every request, and print each delivery.") { port, name };
    command.SetAction(async (parse, cancel) =>
    {
        var output = Console.Out;
        await using var sink = await FakeTarget.StartAsync(parse.GetRequiredValue(name), parse.GetRequiredValue(port), arrival =>
        {
            var text = SinkPrinter.Format(arrival);
            lock (output)
            {
                output.Write(text);
            }
        }).ConfigureAwait(false);
        Console.WriteLine($"sink {sink.Name} listening on {sink.Url} (Ctrl+C to stop)");
        try
        {
            await Task.Delay(Timeout.Infinite, cancel).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            // Ctrl+C: a normal way to stop the sink.
        }
    });
    return command;
}

// `bench [--smoke]`: the benchmark; tests/Load/bench.sh builds Release and runs it.
static Command BenchCommand()
{
    var smoke = new Option<bool>("--smoke") { Description = "Short run (a few seconds per step) that CI runs: ledgers must balance, numbers are only shown." };
    var duration = new Option<double?>("--duration") { Description = "Seconds per load step (default 20; smoke 3); in a full run, end-to-end's 50% of max step lasts 60 s whatever this says." };
    var warmup = new Option<double?>("--warmup") { Description = "Seconds of warm-up before measuring each server (default 3; smoke 1)." };
    var outage = new Option<double?>("--outage") { Description = "Seconds the outage scenario's sink answers 503 (default 30; smoke 3)." };
    var connections = new Option<int?>("--connections") { Description = "Concurrent connections of closed-model (max throughput) runs (default 64; smoke 32)." };
    var stores = new Option<string[]>("--stores") { Description = "Store variants: garnet (embedded), redis (redis-server, appendfsync always).", AllowMultipleArgumentsPerToken = true, DefaultValueFactory = _ => [BenchSettings.Garnet, BenchSettings.Redis] };
    var scenarios = new Option<string[]>("--scenarios") { Description = "Scenarios to run; ingest always runs first.", AllowMultipleArgumentsPerToken = true, DefaultValueFactory = _ => [.. ScenarioCatalog.All.Select(s => s.Name)] };
    var results = new Option<string?>("--results") { Description = "Folder for the markdown and JSON reports (default tests/Load/results)." };
    var relayDll = new Option<string?>("--relay-dll") { Description = "The relay to run (default src/Relay/bin/Release/net10.0/Relay.dll)." };
    var command = new Command("bench", "Run the load benchmark: baselines, then every scenario on each store variant, with a ledger check per step.")
    {
        smoke, duration, warmup, outage, connections, stores, scenarios, results, relayDll,
    };
    command.SetAction(async (parse, _) =>
    {
        var isSmoke = parse.GetValue(smoke);
        var repository = Repository.Root();
        var settings = new BenchSettings(
            isSmoke,
            TimeSpan.FromSeconds(parse.GetValue(duration) ?? (isSmoke ? 3 : 20)),
            TimeSpan.FromSeconds(parse.GetValue(warmup) ?? (isSmoke ? 1 : 3)),
            TimeSpan.FromSeconds(parse.GetValue(outage) ?? (isSmoke ? 3 : 30)),
            parse.GetValue(connections) ?? (isSmoke ? 32 : 64),
            [.. parse.GetRequiredValue(stores).SelectMany(s => s.Split(',', StringSplitOptions.RemoveEmptyEntries))],
            parse.GetRequiredValue(scenarios).SelectMany(s => s.Split(',', StringSplitOptions.RemoveEmptyEntries)).ToHashSet(),
            Path.GetFullPath(parse.GetValue(results) ?? Path.Combine(repository, "tests", "Load", "results")),
            Path.GetFullPath(parse.GetValue(relayDll) ?? Repository.RelayDll("Release")));
        var unknown = settings.Stores.Except([BenchSettings.Garnet, BenchSettings.Redis])
            .Concat(settings.Scenarios.Except(ScenarioCatalog.All.Select(s => s.Name))).ToList();
        if (unknown.Count > 0)
        {
            Console.Error.WriteLine($"Unknown store or scenario: {string.Join(", ", unknown)}. Stores: garnet, redis. Scenarios: {string.Join(", ", ScenarioCatalog.All.Select(s => s.Name))}.");
            return 2;
        }

        return await Bench.RunAsync(settings).ConfigureAwait(false);
    });
    return command;
}

// `search [--events 1000000]`: admin event search latency on a seeded store; tests/Load/bench.sh search builds Release and runs it.
static Command SearchCommand()
{
    var events = new Option<long>("--events") { Description = "Events seeded per store variant.", DefaultValueFactory = _ => 1_000_000 };
    var stores = new Option<string[]>("--stores") { Description = "Store variants: garnet (embedded), redis (redis-server, appendfsync always).", AllowMultipleArgumentsPerToken = true, DefaultValueFactory = _ => [BenchSettings.Garnet, BenchSettings.Redis] };
    var samples = new Option<int>("--samples") { Description = "Timed requests per query, one at a time, after a warm-up.", DefaultValueFactory = _ => 200 };
    var connections = new Option<int>("--connections") { Description = "Concurrent connections seeding the store (closed model).", DefaultValueFactory = _ => 64 };
    var results = new Option<string?>("--results") { Description = "Folder for the markdown and JSON reports (default tests/Load/results)." };
    var relayDll = new Option<string?>("--relay-dll") { Description = "The relay to run (default src/Relay/bin/Release/net10.0/Relay.dll)." };
    var embeddedMemory = new Option<string?>("--embedded-memory") { Description = "store.embedded.memory of the embedded variant, e.g. 5g (default: the relay's, 1g)." };
    var command = new Command("search", "Seed a fresh store per variant with signed events over HTTP, then time and check the admin API's event searches.")
    {
        events, stores, samples, connections, results, relayDll, embeddedMemory,
    };
    command.SetAction(async (parse, _) =>
    {
        var settings = new SearchSettings(
            parse.GetValue(events),
            [.. parse.GetRequiredValue(stores).SelectMany(s => s.Split(',', StringSplitOptions.RemoveEmptyEntries))],
            parse.GetValue(samples),
            parse.GetValue(connections),
            Path.GetFullPath(parse.GetValue(results) ?? Path.Combine(Repository.Root(), "tests", "Load", "results")),
            Path.GetFullPath(parse.GetValue(relayDll) ?? Repository.RelayDll("Release")),
            parse.GetValue(embeddedMemory));
        var unknown = settings.Stores.Except([BenchSettings.Garnet, BenchSettings.Redis]).ToList();
        if (unknown.Count > 0 || settings.Events < 1 || settings.Samples < 1 || settings.Connections < 1)
        {
            Console.Error.WriteLine(unknown.Count > 0
                ? $"Unknown store: {string.Join(", ", unknown)}. Stores: garnet, redis."
                : "--events, --samples and --connections must be at least 1.");
            return 2;
        }

        return await SearchBench.RunAsync(settings).ConfigureAwait(false);
    });
    return command;
}

// `baseline kestrel|yarp --port P [--upstream URL]`: the baseline servers, which the benchmark starts as their own processes.
static Command BaselineCommand()
{
    var kind = new Argument<string>("kind") { Description = "kestrel (answers RECEIVED) or yarp (passes everything to --upstream)." };
    var port = new Option<int>("--port") { Required = true };
    var upstream = new Option<string?>("--upstream") { Description = "Where yarp forwards to." };
    var command = new Command("baseline", "Run a baseline server (started by bench).") { kind, port, upstream };
    command.Hidden = true;
    command.SetAction(async (parse, _) =>
    {
        switch (parse.GetRequiredValue(kind))
        {
            case Baselines.Kestrel:
                await Baselines.RunKestrelAsync(parse.GetRequiredValue(port)).ConfigureAwait(false);
                return 0;
            case Baselines.Yarp when parse.GetValue(upstream) is { } address:
                await Baselines.RunYarpAsync(parse.GetRequiredValue(port), new Uri(address)).ConfigureAwait(false);
                return 0;
            default:
                Console.Error.WriteLine("Use: baseline kestrel --port P, or baseline yarp --port P --upstream URL.");
                return 2;
        }
    });
    return command;
}
