using System.Diagnostics;
using System.Net.Http.Json;
using System.Text.Json;
using MassTransit;
using Worker.Contracts;

namespace Worker.SampleProducer;

/// <summary>
/// The scenarios ops/up.sh shows. With the simulator, faults are switched on through its admin API between
/// scenarios, so retry, fallback and failure can be watched; against real providers only the healthy scenario runs.
/// </summary>
public sealed class Demo(IBus bus, ResultInbox inbox, Uri? simulator)
{
    private readonly HttpClient _admin = new() { BaseAddress = simulator };

    public async Task RunAsync()
    {
        await Scenario("Healthy: three requests, Gemini answers each on the first call", 3);
        await Scenario("Routed: trivial work goes to the fast chain (gemini-2.5-flash); the result says where, why and what it cost", 1,
            new RouteHints(Complexity: RouteComplexity.Trivial, Quality: RouteQuality.Draft));
        await Scenario("Routed with a cap no provider fits: CompletionFailed budget_exceeded, no call made", 1,
            new RouteHints(Complexity: RouteComplexity.Expert, MaxCostUsd: 0.000001));
        if (simulator is null)
        {
            Console.WriteLine("(Fault scenarios need the simulator; real providers were used, so they are skipped.)");
            return;
        }

        await OutageAndRecovery();

        await SetFaults("gemini", new { script = new[] { "500" } });
        await Scenario("Gemini answers 500 once: one retry after a backoff, then Gemini answers", 1);

        await SetFaults("gemini", new { always = "503" });
        await Scenario("Gemini answers 503 every time: retries with backoff until its breaker opens, then OpenAI answers (fallbackUsed)", 1);

        await SetFaults("gemini", new { always = "safety" });
        await Scenario("Gemini blocks the content (SAFETY): no retry, straight to OpenAI", 1);

        await SetFaults("openai", new { always = "503" });
        await SetFaults("gemini", new { always = "503" });
        await Scenario("Both providers answer 503: CompletionFailed providers_exhausted", 1);

        await _admin.PostAsync("_sim/reset", null);
        Console.WriteLine("Simulator faults cleared.");
    }

    private async Task Scenario(string title, int count, RouteHints? route = null)
    {
        Console.WriteLine();
        Console.WriteLine($"--- {title}");
        var stopwatch = Stopwatch.StartNew();
        var requests = Enumerable.Range(1, count)
            .Select(i => new CompletionRequested(Guid.NewGuid(), $"demo-chat-{i}",
                [new ChatMessage(ChatRoles.System, "You write short, friendly sales emails."), new ChatMessage(ChatRoles.User, $"Draft opener #{i} for a logistics lead.")],
                MaxOutputTokens: 400, Metadata: new Dictionary<string, string> { ["demo"] = "true" }, Route: route))
            .ToList();
        foreach (var request in requests)
        {
            await bus.Publish(request);
        }

        foreach (var request in requests)
        {
            ResultInbox.Print(await inbox.WaitAsync(request.RequestId, TimeSpan.FromMinutes(3)));
        }

        Console.WriteLine($"    ({stopwatch.Elapsed.TotalSeconds:0.0} s)");
    }

    /// <summary>
    /// A Gemini outage: the first burst pays one backoff before the breaker opens; the second goes straight to OpenAI
    /// without calling Gemini or waiting. Then Gemini recovers, and the next health ping sends traffic back to it.
    /// </summary>
    private async Task OutageAndRecovery()
    {
        // ops/up.sh shortens the ping interval for the simulator demo; a worker started otherwise pings every 30 s.
        var pingInterval = TimeSpan.TryParse(Environment.GetEnvironmentVariable("ProviderHealth__PingInterval"), out var set) ? set : TimeSpan.FromSeconds(30);
        Console.WriteLine();
        Console.WriteLine("--- Gemini outage: its breaker opens, traffic moves to OpenAI with no waiting, and returns after the next health ping");
        await SetFaults("gemini", new { always = "503" });

        Console.WriteLine("  Burst 1, 6 requests at once: each pays one backoff (5 s) until the breaker has seen 4 failures");
        await Burst(6);
        var geminiCalls = await GeminiCalls();
        Console.WriteLine("  Burst 2, 6 requests at once: the breaker is open, Gemini is skipped (attempts 1 = the OpenAI call only)");
        await Burst(6);
        Console.WriteLine($"    Gemini calls during burst 2: {await GeminiCalls() - geminiCalls} (a health ping would count too)");

        (await _admin.DeleteAsync("_sim/targets/gemini/faults")).EnsureSuccessStatusCode();
        Console.WriteLine($"  Gemini is healthy again. One request every 2 s until Gemini answers (ping interval {pingInterval.TotalSeconds:0} s" +
                          (pingInterval == TimeSpan.FromSeconds(30) ? ")" : ", set by ops/up.sh for this demo; the default is 30 s)"));
        var recovery = Stopwatch.StartNew();
        while (recovery.Elapsed < pingInterval + TimeSpan.FromSeconds(20))
        {
            var (result, took) = await Timed(NewRequest("recovery"));
            var by = result is CompletionSucceeded s ? $"{s.Provider}/{s.Model}" : "failed";
            Console.WriteLine($"    +{recovery.Elapsed.TotalSeconds,4:0.0} s  answered by {by} in {took.TotalMilliseconds:0} ms");
            if (result is CompletionSucceeded { Provider: "gemini" })
            {
                Console.WriteLine($"    Back on Gemini {recovery.Elapsed.TotalSeconds:0} s after it recovered: a successful ping closed its breaker.");
                return;
            }

            await Task.Delay(TimeSpan.FromSeconds(2));
        }

        Console.WriteLine("    Gemini did not answer yet; is the worker pinging (ProviderHealth:PingInterval > 0)?");
    }

    private async Task Burst(int count)
    {
        var results = await Task.WhenAll(Enumerable.Range(1, count).Select(i => Timed(NewRequest($"burst-{i}"))));
        foreach (var (result, took) in results)
        {
            Console.WriteLine(result switch
            {
                CompletionSucceeded s => $"    {took.TotalSeconds,5:0.00} s  {s.Provider}/{s.Model}, attempts {s.Attempts}, fallback {s.FallbackUsed}",
                CompletionFailed f => $"    {took.TotalSeconds,5:0.00} s  FAILED {f.Reason}",
                _ => "",
            });
        }
    }

    private async Task<(object Result, TimeSpan Took)> Timed(CompletionRequested request)
    {
        var stopwatch = Stopwatch.StartNew();
        await bus.Publish(request);
        var result = await inbox.WaitAsync(request.RequestId, TimeSpan.FromMinutes(3));
        return (result, stopwatch.Elapsed);
    }

    private static CompletionRequested NewRequest(string conversation) =>
        new(Guid.NewGuid(), $"demo-{conversation}", [new ChatMessage(ChatRoles.User, "One line on why retries need jitter.")],
            Metadata: new Dictionary<string, string> { ["demo"] = "true" });

    private async Task<long> GeminiCalls() =>
        (await _admin.GetFromJsonAsync<JsonElement>("_sim/calls/gemini")).GetProperty("total").GetInt64();

    private async Task SetFaults(string target, object profile) =>
        (await _admin.PutAsJsonAsync($"_sim/targets/{target}/faults", profile)).EnsureSuccessStatusCode();
}
