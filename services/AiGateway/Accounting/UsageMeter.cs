using System.Diagnostics;
using System.Text.Json.Nodes;
using ThinkWatch.AiGateway.Conversion;
using ThinkWatch.AiGateway.Routing;
using ThinkWatch.Contracts.Events;
using ThinkWatch.Contracts.Identity.V1;

namespace ThinkWatch.AiGateway.Accounting;

/// <summary>
/// What one request used, gathered as it passes through the pipeline and turned into one
/// <see cref="UsageRecorded"/> at the end — success or failure — for every request whose key was valid.
/// </summary>
public sealed class UsageMeter(TimeProvider time, string endpoint)
{
    public const string TagHeader = "X-ThinkWatch-Tag";
    private const int MaxTags = 16;
    private const int MaxTagLength = 64;

    private readonly long _started = time.GetTimestamp();
    private TimeSpan? _firstToken;

    public Principal? Principal { get; set; }
    public string? Model { get; set; }
    public UpstreamRoute? Route { get; set; }
    /// <summary>Set once the Quota service admitted the request: settled when the record is published.</summary>
    public QuotaTicket? Quota { get; set; }
    public bool Stream { get; set; }
    /// <summary>False for calls that use no model (token counting): recorded, with no tokens.</summary>
    public bool Billable { get; set; } = true;
    public long RequestBytes { get; set; }
    public Usage? Reported { get; set; }
    /// <summary>Characters of generated text seen (for an estimate when the upstream reports no usage).</summary>
    public long OutputChars { get; set; }
    public IReadOnlyList<string> Tags { get; private set; } = [];

    /// <summary>The first bytes of the answer went to the client.</summary>
    public void FirstToken() => _firstToken ??= time.GetElapsedTime(_started);

    private readonly List<string> _tags = [];

    /// <summary>Tags from X-ThinkWatch-Tag headers (comma-separated), read before the body so a body refused as unreadable still leaves them.</summary>
    public void TagFrom(HttpRequest request)
    {
        foreach (var header in request.Headers[TagHeader])
        {
            _tags.AddRange((header ?? "").Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries));
        }
        Tags = CleanTags();
    }

    /// <summary>Tags from the body's metadata (OpenAI key-values, Anthropic user_id), as "key:value", after the header's.</summary>
    public void TagFrom(JsonObject body)
    {
        if (body["metadata"] is not JsonObject metadata)
        {
            return;
        }
        foreach (var (key, value) in metadata)
        {
            if (value is JsonValue v && v.TryGetValue<string>(out var text))
            {
                _tags.Add($"{key}:{text}");
            }
        }
        Tags = CleanTags();
    }

    private string[] CleanTags() => [.. _tags.Where(t => t.Length <= MaxTagLength && !t.Any(char.IsControl)).Distinct(StringComparer.Ordinal).Take(MaxTags)];

    /// <summary>The ticket to settle: priced by the model of the upstream that answered (after failover).</summary>
    public QuotaTicket? Ticket => Quota is { } ticket && Route is { } route ? ticket with { Model = route.UpstreamModel } : Quota;

    /// <summary>The record, or null when no valid key was presented (refusals are the audit trail's business).</summary>
    public UsageRecorded? Build(int status)
    {
        if (Principal is not { } principal)
        {
            return null;
        }
        // An answer without usage: about 4 characters (bytes of a prompt) per token, marked as an estimate. No answer: nothing used.
        var usage = !Billable ? Usage.None
            : Reported ?? (Route is null || status >= 400 ? Usage.None : new Usage(RequestBytes / 4, OutputChars / 4, Estimated: true));
        var input = usage.TotalInput;
        return new UsageRecorded(
            Guid.CreateVersion7(), time.GetUtcNow(), Activity.Current?.TraceId.ToString(),
            principal.UserId, string.IsNullOrEmpty(principal.TeamId) ? null : principal.TeamId, principal.KeyId,
            Route?.Provider.Name ?? "", Model ?? "", endpoint,
            input, usage.Output, usage.CacheRead, usage.Reasoning, usage.Estimated,
            // Until the Quota service settles them (weights and prices), weight 1 and no cost.
            WeightedTokens: input + usage.Output, CostMicroUsd: 0,
            LatencyMs: (int)time.GetElapsedTime(_started).TotalMilliseconds,
            TimeToFirstTokenMs: _firstToken is { } first ? (int)first.TotalMilliseconds : null,
            status, Stream, Tags, Route?.UpstreamModel);
    }
}
