namespace ThinkWatch.Integrations;

/// <summary>What a gateway does when the Quota service itself cannot be reached.</summary>
public enum QuotaUnreachable
{
    /// <summary>Admit (logged): an outage of the limiter does not stop traffic.</summary>
    Open,
    /// <summary>Refuse (429 rate_limiter_unavailable; a JSON-RPC error on /mcp).</summary>
    Closed,
}
