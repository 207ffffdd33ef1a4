using System.Buffers.Binary;
using System.IO.Hashing;
using System.Text;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;

namespace ThinkWatch.Testing;

/// <summary>
/// A fake model behind every upstream wire format (OpenAI Chat — also Azure and OpenAI-compatible —,
/// Anthropic Messages, Gemini generateContent, Bedrock Converse), answering from what the request
/// says, so conversions are checked both ways:
/// a tool result → "The tool said: …"; tools offered → a call of the first tool with {"city":"Paris"};
/// otherwise "Echo: &lt;last user text&gt;" plus " [N image(s): types]". Usage is always 11 in, 7 out.
/// Streams split text and tool arguments in two pieces.
/// </summary>
public static class FakeModels
{
    public const int InputTokens = 11;
    public const int OutputTokens = 7;
    public const string ToolArguments = "{\"city\":\"Paris\"}";
    private static readonly string[] ArgumentPieces = ["{\"city\":", "\"Paris\"}"];

    /// <summary>What the fake decided to say.</summary>
    private sealed record Answer(string? Text, string? ToolName);

    /// <summary>What a request asks, read in its own format.</summary>
    private sealed record Ask(string LastUserText, List<string> ImageTypes, List<string> ToolNames, string? ToolResult)
    {
        public Answer Decide() => ToolResult is not null ? new Answer($"The tool said: {ToolResult}", null)
            : ToolNames.Count > 0 ? new Answer(null, ToolNames[0])
            : new Answer($"Echo: {LastUserText}" + (ImageTypes.Count > 0 ? $" [{ImageTypes.Count} image(s): {string.Join(", ", ImageTypes)}]" : ""), null);
    }

    /// <summary>Answers any model request by its path; false when the path is no model API.</summary>
    public static async Task<bool> HandleAsync(HttpContext context, string body)
    {
        var path = context.Request.Path.Value ?? "";
        var request = JsonNode.Parse(body)!.AsObject();
        if (path.EndsWith("/chat/completions", StringComparison.Ordinal))
        {
            await OpenAiAsync(context, request);
        }
        else if (path.EndsWith("/v1/messages", StringComparison.Ordinal))
        {
            await AnthropicAsync(context, request);
        }
        else if (path.Contains(":generateContent", StringComparison.Ordinal) || path.Contains(":streamGenerateContent", StringComparison.Ordinal))
        {
            await GeminiAsync(context, request, path.Contains(":stream", StringComparison.Ordinal));
        }
        else if (path.EndsWith("/converse", StringComparison.Ordinal) || path.EndsWith("/converse-stream", StringComparison.Ordinal))
        {
            await BedrockAsync(context, request, path.EndsWith("-stream", StringComparison.Ordinal));
        }
        else
        {
            return false;
        }
        return true;
    }

    // ---- OpenAI Chat Completions --------------------------------------------------------------

    private static async Task OpenAiAsync(HttpContext context, JsonObject request)
    {
        var ask = new Ask("", [], [.. (request["tools"] as JsonArray ?? []).Select(t => (string)t!["function"]!["name"]!)], null);
        foreach (var m in (JsonArray)request["messages"]!)
        {
            switch ((string)m!["role"]!)
            {
                case "user":
                    ask = ask with { LastUserText = "" };
                    ask.ImageTypes.Clear();
                    if (m["content"] is JsonArray parts)
                    {
                        foreach (var p in parts)
                        {
                            if ((string)p!["type"]! == "text")
                            {
                                ask = ask with { LastUserText = (string)p["text"]! };
                            }
                            else if ((string)p["type"]! == "image_url")
                            {
                                ask.ImageTypes.Add(((string)p["image_url"]!["url"]!).Split(';')[0]["data:".Length..]);
                            }
                        }
                    }
                    else
                    {
                        ask = ask with { LastUserText = (string)m["content"]! };
                    }
                    break;
                case "tool":
                    ask = ask with { ToolResult = (string)m["content"]! };
                    break;
            }
        }
        var answer = ask.Decide();
        var model = (string?)request["model"] ?? "deployment";
        JsonObject Call(string arguments, bool first) => new()
        {
            ["index"] = 0, ["id"] = first ? "call_fake1" : null, ["type"] = first ? "function" : null,
            ["function"] = first ? new JsonObject { ["name"] = answer.ToolName, ["arguments"] = arguments } : new JsonObject { ["arguments"] = arguments },
        };
        var usage = new JsonObject { ["prompt_tokens"] = InputTokens, ["completion_tokens"] = OutputTokens, ["total_tokens"] = InputTokens + OutputTokens };
        var finish = answer.ToolName is null ? "stop" : "tool_calls";
        if ((bool?)request["stream"] != true)
        {
            var message = new JsonObject { ["role"] = "assistant", ["content"] = answer.Text };
            if (answer.ToolName is not null)
            {
                message["tool_calls"] = new JsonArray(Call(ToolArguments, true));
                ((JsonObject)message["tool_calls"]![0]!).Remove("index");
            }
            await Json(context, new JsonObject
            {
                ["id"] = "chatcmpl-fake", ["object"] = "chat.completion", ["created"] = 1_700_000_000, ["model"] = model,
                ["choices"] = new JsonArray(new JsonObject { ["index"] = 0, ["message"] = message, ["finish_reason"] = finish }),
                ["usage"] = usage,
            });
            return;
        }
        JsonObject Chunk(JsonObject delta, string? finishReason) => new()
        {
            ["id"] = "chatcmpl-fake", ["object"] = "chat.completion.chunk", ["created"] = 1_700_000_000, ["model"] = model,
            ["choices"] = new JsonArray(new JsonObject { ["index"] = 0, ["delta"] = delta, ["finish_reason"] = finishReason }),
        };
        var events = new List<SseEvent> { new(Chunk(new JsonObject { ["role"] = "assistant", ["content"] = "" }, null).ToJsonString()) };
        if (answer.Text is not null)
        {
            events.AddRange(Halves(answer.Text).Select(piece => new SseEvent(Chunk(new JsonObject { ["content"] = piece }, null).ToJsonString())));
        }
        else
        {
            events.AddRange(ArgumentPieces.Select((piece, i) => new SseEvent(Chunk(new JsonObject { ["tool_calls"] = new JsonArray(Call(piece, i == 0)) }, null).ToJsonString())));
        }
        events.Add(new SseEvent(Chunk(new JsonObject(), finish).ToJsonString()));
        if ((bool?)request["stream_options"]?["include_usage"] == true)
        {
            var last = Chunk(new JsonObject(), null);
            last["choices"] = new JsonArray();
            last["usage"] = usage;
            events.Add(new SseEvent(last.ToJsonString()));
        }
        events.Add(new SseEvent("[DONE]"));
        await FakeResponse.Sse(events)(context);
    }

    // ---- Anthropic Messages -------------------------------------------------------------------

    private static async Task AnthropicAsync(HttpContext context, JsonObject request)
    {
        var ask = new Ask("", [], [.. (request["tools"] as JsonArray ?? []).Select(t => (string)t!["name"]!)], null);
        foreach (var m in (JsonArray)request["messages"]!)
        {
            if ((string)m!["role"]! != "user")
            {
                continue;
            }
            var blocks = m["content"] as JsonArray ?? new JsonArray(new JsonObject { ["type"] = "text", ["text"] = (string)m["content"]! });
            ask = ask with { LastUserText = "" };
            ask.ImageTypes.Clear();
            foreach (var b in blocks)
            {
                switch ((string)b!["type"]!)
                {
                    case "text":
                        ask = ask with { LastUserText = (string)b["text"]! };
                        break;
                    case "image":
                        ask.ImageTypes.Add((string)b["source"]!["media_type"]!);
                        break;
                    case "tool_result":
                        ask = ask with { ToolResult = b["content"] is JsonArray c ? (string)c[0]!["text"]! : (string)b["content"]! };
                        break;
                }
            }
        }
        var answer = ask.Decide();
        var model = (string)request["model"]!;
        var stop = answer.ToolName is null ? "end_turn" : "tool_use";
        if ((bool?)request["stream"] != true)
        {
            await Json(context, new JsonObject
            {
                ["id"] = "msg_fake", ["type"] = "message", ["role"] = "assistant", ["model"] = model,
                ["content"] = new JsonArray(answer.Text is not null
                    ? new JsonObject { ["type"] = "text", ["text"] = answer.Text }
                    : new JsonObject { ["type"] = "tool_use", ["id"] = "toolu_fake1", ["name"] = answer.ToolName, ["input"] = JsonNode.Parse(ToolArguments) }),
                ["stop_reason"] = stop, ["stop_sequence"] = null,
                ["usage"] = new JsonObject { ["input_tokens"] = InputTokens, ["output_tokens"] = OutputTokens },
            });
            return;
        }
        SseEvent E(string type, JsonObject data)
        {
            data["type"] = type;
            return new SseEvent(data.ToJsonString(), type);
        }
        var events = new List<SseEvent>
        {
            E("message_start", new JsonObject
            {
                ["message"] = new JsonObject
                {
                    ["id"] = "msg_fake", ["type"] = "message", ["role"] = "assistant", ["model"] = model, ["content"] = new JsonArray(),
                    ["stop_reason"] = null, ["stop_sequence"] = null, ["usage"] = new JsonObject { ["input_tokens"] = InputTokens, ["output_tokens"] = 1 },
                },
            }),
            E("content_block_start", new JsonObject
            {
                ["index"] = 0,
                ["content_block"] = answer.Text is not null ? new JsonObject { ["type"] = "text", ["text"] = "" }
                    : new JsonObject { ["type"] = "tool_use", ["id"] = "toolu_fake1", ["name"] = answer.ToolName, ["input"] = new JsonObject() },
            }),
        };
        events.AddRange(answer.Text is not null
            ? Halves(answer.Text).Select(p => E("content_block_delta", new JsonObject { ["index"] = 0, ["delta"] = new JsonObject { ["type"] = "text_delta", ["text"] = p } }))
            : ArgumentPieces.Select(p => E("content_block_delta", new JsonObject { ["index"] = 0, ["delta"] = new JsonObject { ["type"] = "input_json_delta", ["partial_json"] = p } })));
        events.Add(E("content_block_stop", new JsonObject { ["index"] = 0 }));
        events.Add(E("message_delta", new JsonObject
        {
            ["delta"] = new JsonObject { ["stop_reason"] = stop, ["stop_sequence"] = null },
            ["usage"] = new JsonObject { ["output_tokens"] = OutputTokens },
        }));
        events.Add(E("message_stop", []));
        await FakeResponse.Sse(events)(context);
    }

    // ---- Gemini -------------------------------------------------------------------------------

    private static async Task GeminiAsync(HttpContext context, JsonObject request, bool stream)
    {
        var tools = (request["tools"]?[0]?["functionDeclarations"] as JsonArray ?? []).Select(t => (string)t!["name"]!).ToList();
        var ask = new Ask("", [], tools, null);
        foreach (var c in (JsonArray)request["contents"]!)
        {
            if ((string)c!["role"]! != "user")
            {
                continue;
            }
            ask = ask with { LastUserText = "" };
            ask.ImageTypes.Clear();
            foreach (var p in (JsonArray)c["parts"]!)
            {
                if ((string?)p!["text"] is { } text)
                {
                    ask = ask with { LastUserText = text };
                }
                else if (p["inlineData"] is JsonObject inline)
                {
                    ask.ImageTypes.Add((string)inline["mimeType"]!);
                }
                else if (p["functionResponse"] is JsonObject response)
                {
                    ask = ask with { ToolResult = (string?)response["response"]!["result"] };
                }
            }
        }
        var answer = ask.Decide();
        var usage = new JsonObject { ["promptTokenCount"] = InputTokens, ["candidatesTokenCount"] = OutputTokens, ["totalTokenCount"] = InputTokens + OutputTokens };
        JsonObject Chunk(JsonArray parts, bool last)
        {
            var candidate = new JsonObject { ["content"] = new JsonObject { ["role"] = "model", ["parts"] = parts }, ["index"] = 0 };
            if (last)
            {
                candidate["finishReason"] = "STOP";
            }
            var chunk = new JsonObject { ["candidates"] = new JsonArray(candidate), ["modelVersion"] = "gemini-fake-001", ["responseId"] = "gemini-response-1" };
            if (last)
            {
                chunk["usageMetadata"] = usage.DeepClone();
            }
            return chunk;
        }
        var call = new JsonObject { ["functionCall"] = new JsonObject { ["name"] = answer.ToolName, ["args"] = JsonNode.Parse(ToolArguments) }, ["thoughtSignature"] = "gemini-signature" };
        if (!stream)
        {
            await Json(context, Chunk(answer.Text is not null ? new JsonArray(new JsonObject { ["text"] = answer.Text }) : new JsonArray(call), last: true));
            return;
        }
        var events = answer.Text is not null
            ? Halves(answer.Text).Select((p, i) => new SseEvent(Chunk(new JsonArray(new JsonObject { ["text"] = p }), last: i == 1).ToJsonString())).ToList()
            : [new SseEvent(Chunk(new JsonArray(call), last: true).ToJsonString())];
        await FakeResponse.Sse(events)(context);
    }

    // ---- Bedrock Converse -----------------------------------------------------------------------

    private static async Task BedrockAsync(HttpContext context, JsonObject request, bool stream)
    {
        var tools = (request["toolConfig"]?["tools"] as JsonArray ?? []).Select(t => (string?)t!["toolSpec"]?["name"]).OfType<string>().ToList();
        var ask = new Ask("", [], tools, null);
        foreach (var m in (JsonArray)request["messages"]!)
        {
            if ((string)m!["role"]! != "user")
            {
                continue;
            }
            ask = ask with { LastUserText = "" };
            ask.ImageTypes.Clear();
            foreach (var b in (JsonArray)m["content"]!)
            {
                if ((string?)b!["text"] is { } text)
                {
                    ask = ask with { LastUserText = text };
                }
                else if (b["image"] is JsonObject image)
                {
                    ask.ImageTypes.Add("image/" + (string)image["format"]!);
                }
                else if (b["toolResult"] is JsonObject result)
                {
                    ask = ask with { ToolResult = (string?)result["content"]![0]!["text"] };
                }
            }
        }
        var answer = ask.Decide();
        var stop = answer.ToolName is null ? "end_turn" : "tool_use";
        var usage = new JsonObject { ["inputTokens"] = InputTokens, ["outputTokens"] = OutputTokens, ["totalTokens"] = InputTokens + OutputTokens };
        if (!stream)
        {
            await Json(context, new JsonObject
            {
                ["output"] = new JsonObject
                {
                    ["message"] = new JsonObject
                    {
                        ["role"] = "assistant",
                        ["content"] = new JsonArray(answer.Text is not null ? new JsonObject { ["text"] = answer.Text }
                            : new JsonObject { ["toolUse"] = new JsonObject { ["toolUseId"] = "tooluse_fake1", ["name"] = answer.ToolName, ["input"] = JsonNode.Parse(ToolArguments) } }),
                    },
                },
                ["stopReason"] = stop,
                ["usage"] = usage,
                ["metrics"] = new JsonObject { ["latencyMs"] = 5 },
            });
            return;
        }
        var events = new List<(string Type, JsonObject Payload)> { ("messageStart", new JsonObject { ["role"] = "assistant" }) };
        if (answer.Text is not null)
        {
            events.AddRange(Halves(answer.Text).Select(p => ("contentBlockDelta", new JsonObject { ["contentBlockIndex"] = 0, ["delta"] = new JsonObject { ["text"] = p } })));
        }
        else
        {
            events.Add(("contentBlockStart", new JsonObject
            {
                ["contentBlockIndex"] = 0, ["start"] = new JsonObject { ["toolUse"] = new JsonObject { ["toolUseId"] = "tooluse_fake1", ["name"] = answer.ToolName } },
            }));
            events.AddRange(ArgumentPieces.Select(p => ("contentBlockDelta", new JsonObject { ["contentBlockIndex"] = 0, ["delta"] = new JsonObject { ["toolUse"] = new JsonObject { ["input"] = p } } })));
        }
        events.Add(("contentBlockStop", new JsonObject { ["contentBlockIndex"] = 0 }));
        events.Add(("messageStop", new JsonObject { ["stopReason"] = stop }));
        events.Add(("metadata", new JsonObject { ["usage"] = usage, ["metrics"] = new JsonObject { ["latencyMs"] = 5 } }));
        await EventStreamResponse(events.Select(e => EventStreamFrame(new Dictionary<string, string>
        {
            [":event-type"] = e.Type, [":content-type"] = "application/json", [":message-type"] = "event",
        }, Encoding.UTF8.GetBytes(e.Payload.ToJsonString()))))(context);
    }

    /// <summary>An AWS event-stream response, one frame per write.</summary>
    public static Func<HttpContext, Task> EventStreamResponse(IEnumerable<byte[]> frames) => async context =>
    {
        context.Features.Get<IHttpResponseBodyFeature>()?.DisableBuffering();
        context.Response.StatusCode = 200;
        context.Response.ContentType = "application/vnd.amazon.eventstream";
        foreach (var frame in frames)
        {
            await context.Response.Body.WriteAsync(frame, context.RequestAborted);
            await context.Response.Body.FlushAsync(context.RequestAborted);
        }
    };

    /// <summary>One event-stream message with string headers: prelude, prelude CRC, headers, payload, message CRC.</summary>
    public static byte[] EventStreamFrame(IReadOnlyDictionary<string, string> headers, byte[] payload)
    {
        var headerBytes = new MemoryStream();
        foreach (var (name, value) in headers)
        {
            var n = Encoding.UTF8.GetBytes(name);
            var v = Encoding.UTF8.GetBytes(value);
            headerBytes.WriteByte((byte)n.Length);
            headerBytes.Write(n);
            headerBytes.WriteByte(7);
            headerBytes.WriteByte((byte)(v.Length >> 8));
            headerBytes.WriteByte((byte)v.Length);
            headerBytes.Write(v);
        }
        var h = headerBytes.ToArray();
        var total = 12 + h.Length + payload.Length + 4;
        var frame = new byte[total];
        BinaryPrimitives.WriteInt32BigEndian(frame, total);
        BinaryPrimitives.WriteInt32BigEndian(frame.AsSpan(4), h.Length);
        BinaryPrimitives.WriteUInt32BigEndian(frame.AsSpan(8), Crc32.HashToUInt32(frame.AsSpan(0, 8)));
        h.CopyTo(frame, 12);
        payload.CopyTo(frame, 12 + h.Length);
        BinaryPrimitives.WriteUInt32BigEndian(frame.AsSpan(total - 4), Crc32.HashToUInt32(frame.AsSpan(0, total - 4)));
        return frame;
    }

    private static string[] Halves(string text) => [text[..(text.Length / 2)], text[(text.Length / 2)..]];

    private static Task Json(HttpContext context, JsonObject body) => FakeResponse.Json(body.ToJsonString())(context);
}
