namespace ThinkWatch.AiGateway.Conversion;

/// <summary>
/// A rough token count for a conversation when no upstream can count it: about four characters
/// per token of text (tool schemas and arguments included), a few tokens of framing per message,
/// and Anthropic's ceiling of about 1 600 tokens per image or document page.
/// </summary>
public static class TokenEstimate
{
    private const int CharsPerToken = 4;
    private const int PerMessage = 4;
    private const int PerImage = 1600;

    public static long Of(ChatRequest request)
    {
        long chars = request.System.Sum(Chars);
        long tokens = 0;
        foreach (var message in request.Messages)
        {
            tokens += PerMessage;
            chars += message.Parts.Sum(Chars);
            tokens += message.Parts.Count(p => p is ImagePart or DocumentPart) * PerImage;
        }
        foreach (var tool in request.Tools)
        {
            chars += tool.Name.Length + (tool.Description?.Length ?? 0) + tool.Schema.ToJsonString().Length;
        }
        return tokens + (chars + CharsPerToken - 1) / CharsPerToken;
    }

    private static long Chars(Part part) => part switch
    {
        TextPart t => t.Text.Length,
        ToolCallPart c => c.Name.Length + c.Arguments.Length,
        ToolResultPart r => r.Content.Sum(Chars),
        ThinkingPart k => k.Text.Length,
        _ => 0,
    };
}
