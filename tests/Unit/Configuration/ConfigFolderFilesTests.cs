using Microsoft.Extensions.Primitives;
using Relay.Configuration;

namespace Relay.Tests.Configuration;

/// <summary>
/// relay.yaml's folder is watched on its own, not below it: the embedded store's data lives below it by default and is
/// written many times a second. What must still reload: the file written in place, saved through a rename, and a
/// Kubernetes ConfigMap update (its <c>..data</c> link swapped beside the file).
/// </summary>
public sealed class ConfigFolderFilesTests : IDisposable
{
    private readonly string _folder = Directory.CreateTempSubdirectory("relay-config-").FullName;

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    /// <summary>Failure mode: every write of the store's data wakes the config watcher and costs CPU on the hot path.</summary>
    [Fact]
    public async Task Watch_WritesBelowTheFolderAndToOtherFiles_DoNotSignal()
    {
        File.WriteAllText(Path.Combine(_folder, "relay.yaml"), "targets: {}\n");
        var data = Directory.CreateDirectory(Path.Combine(_folder, "data", "AOF")).FullName;
        using var files = new ConfigFolderFiles(_folder, "relay.yaml");
        var token = files.Watch("relay.yaml");

        for (var i = 0; i < 20; i++)
        {
            await File.WriteAllTextAsync(Path.Combine(data, $"segment.{i}"), new string('x', 4096));
        }

        await File.WriteAllTextAsync(Path.Combine(_folder, "notes.txt"), "not the config");
        await Task.Delay(1000);

        Assert.False(token.HasChanged);
    }

    [Fact]
    public async Task Watch_FileWrittenInPlace_Signals()
    {
        var path = Path.Combine(_folder, "relay.yaml");
        File.WriteAllText(path, "targets: {}\n");
        using var files = new ConfigFolderFiles(_folder, "relay.yaml");
        var token = files.Watch("relay.yaml");

        await File.AppendAllTextAsync(path, "# edited\n");

        Assert.True(await SignalledAsync(token));
        Assert.Contains("# edited", await File.ReadAllTextAsync(files.GetFileInfo("relay.yaml").PhysicalPath!));
    }

    /// <summary>Editors (and the load harness) write a temporary file and rename it over relay.yaml.</summary>
    [Fact]
    public async Task Watch_FileRenamedIntoPlace_Signals()
    {
        var path = Path.Combine(_folder, "relay.yaml");
        File.WriteAllText(path, "targets: {}\n");
        using var files = new ConfigFolderFiles(_folder, "relay.yaml");
        var token = files.Watch("relay.yaml");

        File.WriteAllText(path + ".new", "targets: { crm: { url: \"http://crm/hook\" } }\n");
        File.Move(path + ".new", path, overwrite: true);

        Assert.True(await SignalledAsync(token));
    }

    /// <summary>How kubelet updates a ConfigMap volume: relay.yaml links through ..data, and ..data is swapped atomically.</summary>
    [Fact]
    public async Task Watch_ConfigMapDataLinkSwapped_Signals()
    {
        Directory.CreateDirectory(Path.Combine(_folder, "..2026_12_01_v1"));
        File.WriteAllText(Path.Combine(_folder, "..2026_12_01_v1", "relay.yaml"), "targets: {}\n");
        File.CreateSymbolicLink(Path.Combine(_folder, "..data"), "..2026_12_01_v1");
        File.CreateSymbolicLink(Path.Combine(_folder, "relay.yaml"), Path.Combine("..data", "relay.yaml"));
        using var files = new ConfigFolderFiles(_folder, "relay.yaml");
        var token = files.Watch("relay.yaml");

        Directory.CreateDirectory(Path.Combine(_folder, "..2026_12_01_v2"));
        File.WriteAllText(Path.Combine(_folder, "..2026_12_01_v2", "relay.yaml"), "targets: { crm: { url: \"http://crm/hook\" } }\n");
        File.CreateSymbolicLink(Path.Combine(_folder, "..data_tmp"), "..2026_12_01_v2");

        // rename(2) of the link over the old one, as kubelet does (File.Move follows a link to a folder and refuses).
        using (var rename = System.Diagnostics.Process.Start("mv", ["-T", "-f", Path.Combine(_folder, "..data_tmp"), Path.Combine(_folder, "..data")]))
        {
            await rename.WaitForExitAsync();
            Assert.Equal(0, rename.ExitCode);
        }

        Assert.True(await SignalledAsync(token));
        Assert.Contains("crm", await File.ReadAllTextAsync(Path.Combine(_folder, "relay.yaml")));
    }

    private static async Task<bool> SignalledAsync(IChangeToken token)
    {
        for (var waited = 0; waited < 5000 && !token.HasChanged; waited += 50)
        {
            await Task.Delay(50);
        }

        return token.HasChanged;
    }
}
