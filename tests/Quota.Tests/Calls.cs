using ThinkWatch.Contracts.Common.V1;
using ThinkWatch.Contracts.Quota.V1;

namespace ThinkWatch.Quota.Tests;

/// <summary>Check and Settle requests as a gateway sends them.</summary>
internal static class Calls
{
    public static Subject User(string id) => new() { Kind = SubjectKind.User, Id = id };
    public static Subject Key(string id) => new() { Kind = SubjectKind.ApiKey, Id = id };
    public static Subject Team(string id) => new() { Kind = SubjectKind.Team, Id = id };
    public static Subject Provider(string name) => new() { Kind = SubjectKind.Provider, Id = name };
    public static Subject Server(string name) => new() { Kind = SubjectKind.McpServer, Id = name };

    public static CheckRequest Check(params Subject[] subjects) => Check(Surface.AiGateway, "test-model", 0, 0, subjects);

    public static CheckRequest Check(Surface surface, string model, long input, long maxOutput, params Subject[] subjects)
    {
        var request = new CheckRequest { RequestId = Guid.NewGuid().ToString(), Surface = surface, Model = model, EstimatedInputTokens = input, MaxOutputTokens = maxOutput };
        request.Subjects.AddRange(subjects);
        return request;
    }

    public static SettleRequest Settle(string reservationId, string model, long input, long output, long cached, params Subject[] subjects)
    {
        var request = new SettleRequest { RequestId = Guid.NewGuid().ToString(), ReservationId = reservationId, Surface = Surface.AiGateway, Model = model,
            InputTokens = input, OutputTokens = output, CachedInputTokens = cached };
        request.Subjects.AddRange(subjects);
        return request;
    }
}
