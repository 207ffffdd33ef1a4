using System.ClientModel.Primitives;

namespace ThinkWatch.Testing;

/// <summary>Sets one header on every request of an official SDK client (OpenAI's, System.ClientModel pipelines): <c>options.AddPolicy(new RequestHeaderPolicy(…), PipelinePosition.PerCall)</c>.</summary>
public sealed class RequestHeaderPolicy(string name, string value) : PipelinePolicy
{
    public override void Process(PipelineMessage message, IReadOnlyList<PipelinePolicy> pipeline, int currentIndex)
    {
        message.Request.Headers.Set(name, value);
        ProcessNext(message, pipeline, currentIndex);
    }

    public override ValueTask ProcessAsync(PipelineMessage message, IReadOnlyList<PipelinePolicy> pipeline, int currentIndex)
    {
        message.Request.Headers.Set(name, value);
        return ProcessNextAsync(message, pipeline, currentIndex);
    }
}
