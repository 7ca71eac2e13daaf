using System.CommandLine;
using Relay.Load;

var root = new RootCommand("Relay's load harness: a printing sink for trying Relay by hand, and the benchmark.");
root.Add(SinkCommand());
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
        await using var sink = await Sink.StartAsync(parse.GetRequiredValue(name), parse.GetRequiredValue(port), arrival =>
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
