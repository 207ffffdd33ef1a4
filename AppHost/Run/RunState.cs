using System.Text.Json;

namespace ThinkWatch.AppHost.Run;

public sealed record ResourceState(string Name, string Type, string State, IReadOnlyList<int> Pids, IReadOnlyList<string> Urls, string? Log);

/// <summary>What a run writes to apphost.json: which processes it owns, for `logs`, for tests, for a second `run`.</summary>
public sealed record RunState(int AppHostPid, DateTimeOffset StartedAt, string DataDirectory, IReadOnlyList<ResourceState> Resources)
{
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web) { WriteIndented = true };

    public void Write(string path)
    {
        var temp = path + ".tmp";
        File.WriteAllText(temp, JsonSerializer.Serialize(this, Json));
        File.Move(temp, path, overwrite: true);
    }

    public static RunState? TryRead(string path)
    {
        try
        {
            return File.Exists(path) ? JsonSerializer.Deserialize<RunState>(File.ReadAllText(path), Json) : null;
        }
        catch (JsonException)
        {
            return null;
        }
    }
}
