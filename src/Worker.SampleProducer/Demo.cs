using System.Diagnostics;
using System.Net.Http.Json;
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
        if (simulator is null)
        {
            Console.WriteLine("(Fault scenarios need the simulator; real providers were used, so they are skipped.)");
            return;
        }

        await SetFaults("gemini", new { script = new[] { "500" } });
        await Scenario("Gemini answers 500 once: one retry after a backoff, then Gemini answers", 1);

        await SetFaults("gemini", new { always = "503" });
        await Scenario("Gemini answers 503 every time: 2 retries, then OpenAI answers (fallbackUsed)", 1);

        await SetFaults("gemini", new { always = "safety" });
        await Scenario("Gemini blocks the content (SAFETY): no retry, straight to OpenAI", 1);

        await SetFaults("openai", new { always = "503" });
        await SetFaults("gemini", new { always = "503" });
        await Scenario("Both providers answer 503: CompletionFailed providers_exhausted", 1);

        await _admin.PostAsync("_sim/reset", null);
        Console.WriteLine("Simulator faults cleared.");
    }

    private async Task Scenario(string title, int count)
    {
        Console.WriteLine();
        Console.WriteLine($"--- {title}");
        var stopwatch = Stopwatch.StartNew();
        var requests = Enumerable.Range(1, count)
            .Select(i => new CompletionRequested(Guid.NewGuid(), $"demo-chat-{i}",
                [new ChatMessage(ChatRoles.System, "You write short, friendly sales emails."), new ChatMessage(ChatRoles.User, $"Draft opener #{i} for a logistics lead.")],
                Metadata: new Dictionary<string, string> { ["demo"] = "true" }))
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

    private async Task SetFaults(string target, object profile) =>
        (await _admin.PutAsJsonAsync($"_sim/targets/{target}/faults", profile)).EnsureSuccessStatusCode();
}
