// QuotaService.Check over real gRPC (h2c) against a running Quota on the real Redis: for 0, 1, 5
// and 20 rules per request, latency percentiles of sequential calls, then throughput with
// concurrent callers. Every rule's limit is far out of reach, so every call is admitted and
// counted (the full script path). Run by bench/quota-check.sh.
//   dotnet ThinkWatch.Bench.QuotaCheck.dll QUOTA_HTTP QUOTA_GRPC SECRETS_DIR [calls] [concurrency] [seconds]
using System.Diagnostics;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using Grpc.Core;
using Grpc.Net.Client;
using Microsoft.Extensions.Options;
using ThinkWatch.Contracts.Common.V1;
using ThinkWatch.Contracts.Quota.V1;
using ThinkWatch.Security;

if (args.Length < 3)
{
    Console.Error.WriteLine("usage: QuotaCheck QUOTA_HTTP QUOTA_GRPC SECRETS_DIR [calls=5000] [concurrency=16] [seconds=10]");
    return 2;
}
var (http, grpc, secrets) = (args[0].TrimEnd('/'), args[1], args[2]);
var calls = args.Length > 3 ? int.Parse(args[3]) : 5000;
var concurrency = args.Length > 4 ? int.Parse(args[4]) : 16;
var seconds = args.Length > 5 ? int.Parse(args[5]) : 10;

var signingKey = File.ReadAllText(Path.Combine(secrets, "console-signing-key")).Trim();
var issuer = new ConsoleTokenIssuer(Options.Create(new ConsoleAuthOptions { SigningKey = signingKey }), TimeProvider.System);
using var console = new HttpClient { BaseAddress = new Uri(http) };
console.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", issuer.Issue(Guid.NewGuid(), "bench@example.com", Roles.SuperAdmin, Guid.NewGuid()).Token);
var headers = new Metadata { { InternalAuthOptions.Header, File.ReadAllText(Path.Combine(secrets, "internal-token")).Trim() } };
using var channel = GrpcChannel.ForAddress(grpc);
var quota = new QuotaService.QuotaServiceClient(channel);
string[] windows = ["1m", "5m", "1h", "5h", "1d", "1w"];

foreach (var rules in new[] { 0, 1, 5, 20 })
{
    // A gateway's subjects: key, user, team, provider; the rules spread over them.
    Subject[] subjects =
    [
        new() { Kind = SubjectKind.ApiKey, Id = Guid.NewGuid().ToString() },
        new() { Kind = SubjectKind.User, Id = Guid.NewGuid().ToString() },
        new() { Kind = SubjectKind.Team, Id = Guid.NewGuid().ToString() },
        new() { Kind = SubjectKind.Provider, Id = "bench-" + Guid.NewGuid().ToString("N")[..8] },
    ];
    string[] kinds = ["api_key", "user", "team", "provider"];
    for (var i = 0; i < rules; i++)
    {
        var rule = new
        {
            subjectKind = kinds[i % 4], subjectId = subjects[i % 4].Id, surface = "ai_gateway",
            metric = i / 24 % 2 == 0 ? "requests" : "tokens", window = windows[i / 4 % 6], limit = 1_000_000_000_000L,
        };
        using var created = await console.PostAsJsonAsync("/api/limits/rules", rule);
        if (!created.IsSuccessStatusCode)
        {
            Console.Error.WriteLine($"creating a rule failed ({(int)created.StatusCode}): {await created.Content.ReadAsStringAsync()}");
            return 1;
        }
    }
    var request = new CheckRequest { Surface = Surface.AiGateway, Model = "gpt-4o" };
    request.Subjects.AddRange(subjects);
    for (var i = 0; i < 500; i++)
    {
        await quota.CheckAsync(request, headers);
    }
    var first = await quota.CheckAsync(request, headers);
    if (!first.Allowed || first.Limits.Count != rules)
    {
        Console.Error.WriteLine($"expected {rules} rules to be checked, saw {first.Limits.Count} (allowed {first.Allowed})");
        return 1;
    }

    var latencies = new double[calls];
    for (var i = 0; i < calls; i++)
    {
        var start = Stopwatch.GetTimestamp();
        await quota.CheckAsync(request, headers);
        latencies[i] = Stopwatch.GetElapsedTime(start).TotalMilliseconds;
    }
    Array.Sort(latencies);
    double P(double q) => latencies[Math.Min(latencies.Length - 1, (int)(q * latencies.Length))];

    var done = 0L;
    var deadline = Stopwatch.GetTimestamp() + (long)(seconds * Stopwatch.Frequency);
    await Task.WhenAll(Enumerable.Range(0, concurrency).Select(async _ =>
    {
        while (Stopwatch.GetTimestamp() < deadline)
        {
            await quota.CheckAsync(request, headers);
            Interlocked.Increment(ref done);
        }
    }));
    Console.WriteLine($"{rules,2} rules/request: sequential {calls} calls p50 {P(0.50):0.000} ms  p99 {P(0.99):0.000} ms  max {latencies[^1]:0.000} ms | " +
        $"{concurrency} concurrent callers, {seconds} s: {done / (double)seconds:0} checks/s");
}
return 0;
