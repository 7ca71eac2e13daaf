using System.Text.RegularExpressions;
using Relay.Store;
using Relay.Tests.Infrastructure;

namespace Relay.Tests.Store;

/// <summary>
/// The words a Lua script writes or compares (state words, verdicts, hash field names) are the ones
/// <see cref="StoreWords"/> defines, so a script can never record a state the C# side cannot read.
/// </summary>
public sealed partial class ScriptWordsTests
{
    [Fact]
    public void Scripts_EveryQuotedWord_IsDefinedInStoreWords()
    {
        var scripts = Directory.GetFiles(ScriptFolder(), "*.lua");
        Assert.NotEmpty(scripts);

        var unknown = scripts.SelectMany(path => UnknownWords(Path.GetFileName(path), File.ReadAllText(path))).ToList();

        Assert.Empty(unknown);
    }

    [Fact]
    public void Scripts_StateWords_AreWrittenByTheScripts()
    {
        // The check above passes vacuously if the scripts stop quoting words; they do quote the state words.
        var quoted = Directory.GetFiles(ScriptFolder(), "*.lua").SelectMany(path => QuotedWords(File.ReadAllText(path))).ToHashSet(StringComparer.Ordinal);

        Assert.Superset(new HashSet<string>([StoreWords.Delivered, StoreWords.Retrying, StoreWords.Dead, StoreWords.Pending, StoreWords.CheckField]), quoted);
    }

    [Fact]
    public void Lib_StateIndexOrder_IsStoreWordsStates()
    {
        // Scripts find a target's state indexes by position in KEYS; C# passes them in StoreWords.States order.
        var lib = File.ReadAllText(Path.Combine(ScriptFolder(), "lib.lua"));
        var declared = StatesDeclaration().Match(lib);
        Assert.True(declared.Success, "lib.lua declares no STATES list");

        Assert.Equal(StoreWords.States, Quoted().Matches(declared.Groups[1].Value).Select(m => m.Groups[1].Value));
    }

    [Fact]
    public void Checker_StateMissingFromCSharp_Reported()
    {
        const string Script = """
            -- a comment may say 'anything'
            redis.call('HSET', KEYS[1], t .. '.state', 'paused')
            if ARGV[3] == 'dead' then return redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', 1) end
            """;

        Assert.Equal(["demo.lua: 'paused'"], UnknownWords("demo.lua", Script));
    }

    /// <summary>Quoted words that are neither Redis commands and options (upper case) nor numbers, and not in <see cref="StoreWords.All"/>.</summary>
    private static IEnumerable<string> UnknownWords(string name, string script) =>
        QuotedWords(script).Where(word => !StoreWords.All.Contains(word)).Select(word => $"{name}: '{word}'");

    private static IEnumerable<string> QuotedWords(string script) =>
        script.Split('\n')
            .Select(line => line.Contains("--", StringComparison.Ordinal) ? line[..line.IndexOf("--", StringComparison.Ordinal)] : line)
            .SelectMany(line => Quoted().Matches(line).Select(m => m.Groups[1].Value))
            .Where(word => word.Length > 0 && !RedisWord().IsMatch(word) && !Number().IsMatch(word));

    private static string ScriptFolder() => Path.Combine(Repository.Root(), "src", "Relay", "Store", "Scripts");

    [GeneratedRegex("""['"]([^'"]*)['"]""")]
    private static partial Regex Quoted();

    [GeneratedRegex(@"local STATES = \{([^}]*)\}")]
    private static partial Regex StatesDeclaration();

    [GeneratedRegex("^[A-Z]+$")]
    private static partial Regex RedisWord();

    [GeneratedRegex(@"^[-+]?(\d+|inf)$")]
    private static partial Regex Number();
}
