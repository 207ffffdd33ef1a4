// KeyService.Validate over real gRPC (h2c) against a running Identity: latency percentiles of
// sequential calls, then throughput with concurrent callers. Run by bench/key-validate.sh.
//   dotnet ThinkWatch.Bench.KeyValidate.dll IDENTITY_HTTP IDENTITY_GRPC INTERNAL_TOKEN_FILE [calls] [concurrency] [seconds]
using System.Diagnostics;
using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Google.Protobuf;
using Grpc.Core;
using Grpc.Net.Client;
using ThinkWatch.Contracts.Common.V1;
using ThinkWatch.Contracts.Identity.V1;

if (args.Length < 3)
{
    Console.Error.WriteLine("usage: KeyValidate IDENTITY_HTTP IDENTITY_GRPC INTERNAL_TOKEN_FILE [calls=5000] [concurrency=8] [seconds=10]");
    return 2;
}
var (http, grpc, token) = (args[0].TrimEnd('/'), args[1], File.ReadAllText(args[2]).Trim());
var calls = args.Length > 3 ? int.Parse(args[3]) : 5000;
var concurrency = args.Length > 4 ? int.Parse(args[4]) : 8;
var seconds = args.Length > 5 ? int.Parse(args[5]) : 10;

using var client = new HttpClient();
var setup = await client.PostAsJsonAsync($"{http}/api/setup", new
{
    email = "bench@example.com", displayName = "Bench", password = "Bench-password-1",
    apiKey = new { name = "bench", surfaces = new[] { "ai_gateway" } },
});
if (!setup.IsSuccessStatusCode)
{
    Console.Error.WriteLine($"setup failed ({(int)setup.StatusCode}): {await setup.Content.ReadAsStringAsync()} (the bench needs a fresh data folder)");
    return 1;
}
var key = (await setup.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("apiKey").GetProperty("key").GetString()!;
var request = new ValidateKeyRequest { KeyHash = ByteString.CopyFrom(SHA256.HashData(Encoding.UTF8.GetBytes(key))), Surface = Surface.AiGateway };
var headers = new Metadata { { "x-thinkwatch-internal", token } };

using var channel = GrpcChannel.ForAddress(grpc);
var keys = new KeyService.KeyServiceClient(channel);
for (var i = 0; i < 500; i++)
{
    await keys.ValidateAsync(request, headers);
}

var latencies = new double[calls];
for (var i = 0; i < calls; i++)
{
    var start = Stopwatch.GetTimestamp();
    var response = await keys.ValidateAsync(request, headers);
    latencies[i] = Stopwatch.GetElapsedTime(start).TotalMilliseconds;
    if (response.ResultCase != ValidateKeyResponse.ResultOneofCase.Principal)
    {
        throw new InvalidOperationException("the bench key was refused: " + response.Rejection);
    }
}
Array.Sort(latencies);
double P(double q) => latencies[Math.Min(latencies.Length - 1, (int)(q * latencies.Length))];
Console.WriteLine($"KeyService.Validate, sequential, {calls} calls: p50 {P(0.50):0.000} ms  p90 {P(0.90):0.000} ms  p99 {P(0.99):0.000} ms  max {latencies[^1]:0.000} ms");

var done = 0L;
var deadline = Stopwatch.GetTimestamp() + (long)(seconds * Stopwatch.Frequency);
await Task.WhenAll(Enumerable.Range(0, concurrency).Select(async _ =>
{
    while (Stopwatch.GetTimestamp() < deadline)
    {
        await keys.ValidateAsync(request, headers);
        Interlocked.Increment(ref done);
    }
}));
Console.WriteLine($"KeyService.Validate, {concurrency} concurrent callers, {seconds} s: {done / (double)seconds:0} calls/s");
return 0;
