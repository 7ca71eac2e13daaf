namespace Relay.Store;

/// <summary>The Lua scripts, embedded as resources (one file per state change, each with a header comment).</summary>
internal static class StoreScripts
{
    /// <summary>Functions every script may call (lib.lua), put in front of each script's own text. First: fields initialize in order.</summary>
    private static readonly string Library = Read("lib");

    public static readonly string Accept = Load("accept");
    public static readonly string Claim = Load("claim");
    public static readonly string Complete = Load("complete");
    public static readonly string Fail = Load("fail");
    public static readonly string Check = Load("check");
    public static readonly string Promote = Load("promote");
    public static readonly string Extend = Load("extend");
    public static readonly string Requeue = Load("requeue");
    public static readonly string Purge = Load("purge");
    public static readonly string Orphan = Load("orphan");
    public static readonly string LeaseRenew = Load("lease-renew");
    public static readonly string LeaseRelease = Load("lease-release");

    private static string Load(string name) => Library + "\n" + Read(name);

    private static string Read(string name)
    {
        using var stream = typeof(StoreScripts).Assembly.GetManifestResourceStream($"Relay.Store.Scripts.{name}.lua")
            ?? throw new InvalidOperationException($"Script {name}.lua is not embedded in the assembly.");
        using var reader = new StreamReader(stream);
        return reader.ReadToEnd();
    }
}
