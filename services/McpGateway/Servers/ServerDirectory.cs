using Microsoft.Extensions.Caching.Memory;

namespace ThinkWatch.McpGateway.Servers;

/// <summary>The registered servers as the /mcp path reads them: from Postgres, reused for a few seconds (changes on another replica are seen within that).</summary>
public sealed class ServerDirectory(ServerStore store, IMemoryCache cache)
{
    private static readonly TimeSpan Ttl = TimeSpan.FromSeconds(5);
    private const string Key = "mcp-servers";

    public async Task<IReadOnlyList<McpServer>> ListAsync(CancellationToken cancellationToken) =>
        await cache.GetOrCreateAsync(Key, async entry =>
        {
            entry.AbsoluteExpirationRelativeToNow = Ttl;
            return await store.ListAsync(cancellationToken);
        }) ?? [];

    public async Task<McpServer?> FindAsync(string name, CancellationToken cancellationToken) =>
        (await ListAsync(cancellationToken)).FirstOrDefault(s => s.Name == name);

    /// <summary>After a change on this replica.</summary>
    public void Invalidate() => cache.Remove(Key);
}
