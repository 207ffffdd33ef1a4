using System.Text.Json.Nodes;

namespace ThinkWatch.AiGateway.Conversion;

// The gateway's own model of a conversation: every inbound format parses into it and every
// upstream format is written from it, so N formats need 2N converters, not N². It is rich
// enough that what one format can say and another can too survives the trip; what has no
// equivalent is refused with a 400 (UnsupportedFeatureException), never dropped.

public enum Role { User, Assistant }

public abstract record Part;

/// <summary>Text; <paramref name="Cache"/> carries a prompt-cache breakpoint (Anthropic cache_control).</summary>
public sealed record TextPart(string Text, bool Cache = false) : Part;

/// <summary>An image by URL or inline base64 (<paramref name="Data"/> with its media type).</summary>
public sealed record ImagePart(string? Url, string? MediaType, string? Data, bool Cache = false) : Part;

/// <summary>A document (PDF or plain text) inline as base64 or by URL.</summary>
public sealed record DocumentPart(string? Url, string? MediaType, string? Data, string? Title, bool Cache = false) : Part;

/// <summary>The assistant asks for a tool; <paramref name="Arguments"/> is the JSON text of the input.</summary>
public sealed record ToolCallPart(string Id, string Name, string Arguments) : Part;

/// <summary>What a tool answered to the call <paramref name="CallId"/>.</summary>
public sealed record ToolResultPart(string CallId, IReadOnlyList<Part> Content, bool IsError, bool Cache = false) : Part;

/// <summary>Reasoning the model showed (with the signature that must travel back unchanged), or hid (<paramref name="Redacted"/>).</summary>
public sealed record ThinkingPart(string Text, string? Signature, string? Redacted = null) : Part;

public sealed record Message(Role Role, IReadOnlyList<Part> Parts);

public sealed record ToolDefinition(string Name, string? Description, JsonNode Schema, bool? Strict, bool Cache = false);

public enum ToolChoiceKind { Auto, None, Required, Named }

public sealed record ToolChoice(ToolChoiceKind Kind, string? Name = null);

public enum OutputFormatKind { Text, JsonObject, JsonSchema }

public sealed record OutputFormat(OutputFormatKind Kind, string? Name = null, JsonNode? Schema = null, bool? Strict = null);

/// <summary>Extended reasoning: a token budget (Anthropic, Gemini) or an effort (OpenAI).</summary>
public sealed record ReasoningRequest(int? BudgetTokens, string? Effort);

public sealed class ChatRequest
{
    public required string Model { get; set; }
    public List<Part> System { get; init; } = [];
    public List<Message> Messages { get; init; } = [];
    public List<ToolDefinition> Tools { get; init; } = [];
    public ToolChoice? ToolChoice { get; set; }
    public bool? ParallelToolCalls { get; set; }
    public OutputFormat? Format { get; set; }
    public List<string> Stop { get; init; } = [];
    public double? Temperature { get; set; }
    public double? TopP { get; set; }
    public int? TopK { get; set; }
    public int? MaxTokens { get; set; }
    public bool Stream { get; set; }
    /// <summary>The client asked for usage in the stream (OpenAI stream_options.include_usage).</summary>
    public bool StreamUsage { get; set; }
    public ReasoningRequest? Reasoning { get; set; }
    /// <summary>End-user id for the upstream's abuse monitoring.</summary>
    public string? User { get; set; }
}

public enum StopReason { EndTurn, MaxTokens, StopSequence, ToolUse, ContentFilter, PauseTurn }

/// <summary>
/// Tokens of one exchange. <see cref="Input"/> excludes cache reads and writes (Anthropic's
/// convention); OpenAI's prompt_tokens is Input + CacheRead + CacheWrite. Output includes reasoning.
/// </summary>
public sealed record Usage(long Input, long Output, long CacheRead = 0, long CacheWrite = 0, long Reasoning = 0, bool Estimated = false)
{
    public static readonly Usage None = new(0, 0);
    public long TotalInput => Input + CacheRead + CacheWrite;
}

public sealed class ChatResponse
{
    public required string Id { get; init; }
    public required string Model { get; init; }
    public List<Part> Content { get; init; } = [];
    public StopReason StopReason { get; set; } = StopReason.EndTurn;
    public string? StopSequence { get; set; }
    public Usage Usage { get; set; } = Usage.None;
}

// Streams: every upstream stream decodes into these, every client stream encodes from them.
// Blocks are numbered in order of appearance, one kind each (text, tool call, thinking).

public abstract record StreamEvent;

public sealed record StreamStarted(string Id, string Model, Usage? Usage) : StreamEvent;

/// <summary>A block opens: <paramref name="Block"/> is an empty TextPart, a ToolCallPart with id and name, or a ThinkingPart.</summary>
public sealed record BlockStarted(int Index, Part Block) : StreamEvent;

public enum DeltaKind { Text, ToolArguments, Thinking, Signature }

public sealed record BlockDelta(int Index, DeltaKind Kind, string Value) : StreamEvent;

public sealed record BlockStopped(int Index) : StreamEvent;

/// <summary>Why the model stopped; usage may still follow (OpenAI sends it in a last chunk).</summary>
public sealed record StreamFinished(StopReason Reason, string? StopSequence) : StreamEvent;

/// <summary>Usage so far (cumulative: a later report replaces the fields it carries).</summary>
public sealed record UsageReported(Usage Usage) : StreamEvent;

/// <summary>The upstream ended its stream normally.</summary>
public sealed record StreamCompleted : StreamEvent
{
    public static readonly StreamCompleted Instance = new();
}

/// <summary>The upstream reported an error mid-stream.</summary>
public sealed record StreamFailed(string Type, string Message) : StreamEvent;
