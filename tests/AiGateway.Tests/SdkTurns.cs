using Anthropic.Models.Messages;

namespace ThinkWatch.AiGateway.Tests;

/// <summary>Conversation turns built with the official SDKs' types, shared by the end-to-end suites.</summary>
internal static class SdkTurns
{
    /// <summary>The Messages request that follows <paramref name="use"/>: the question, the assistant's tool use, and the tool's <paramref name="result"/>.</summary>
    public static MessageCreateParams AnswerToolUse(MessageCreateParams ask, string question, ToolUseBlock use, string result) => ask with
    {
        Messages =
        [
            new UserMessageParam { Content = question },
            new AssistantMessageParam { Content = new List<ContentBlockParam> { new ToolUseBlockParam { ID = use.ID, Name = use.Name, Input = use.Input } } },
            new UserMessageParam { Content = new List<ContentBlockParam> { new ToolResultBlockParam { ToolUseID = use.ID, Content = result } } },
        ],
    };
}
