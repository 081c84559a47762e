using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using Worker.Simulator;
using Worker.Simulator.Calls;

namespace Worker.Tests.Simulator;

/// <summary>The simulator started in-process on a free port, and a plain HttpClient pointed at it.</summary>
internal sealed class RunningSimulator : IAsyncDisposable
{
    private RunningSimulator(WebApplication app)
    {
        App = app;
        State = app.Services.GetRequiredService<SimulatorState>();
        Http = new HttpClient { BaseAddress = app.GetBaseAddress() };
    }

    public WebApplication App { get; }

    public SimulatorState State { get; }

    public HttpClient Http { get; }

    public static async Task<RunningSimulator> StartAsync(Action<SimulatorOptions>? configure = null, TimeProvider? time = null, params string[] args)
    {
        var app = SimulatorApp.Build(["--urls", "http://127.0.0.1:0", "--Logging:LogLevel:Default=Warning", .. args], configure, time);
        await app.StartAsync();
        return new RunningSimulator(app);
    }

    public Task<HttpResponseMessage> GeminiAsync(
        string target, string text = "Hello there simulator", string? key = "test-key", string model = "gemini-2.5-flash", CancellationToken cancellationToken = default)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, $"{target}/v1beta/models/{model}:generateContent")
        {
            Content = JsonContent.Create(new JsonObject
            {
                ["contents"] = new JsonArray(new JsonObject
                {
                    ["role"] = "user",
                    ["parts"] = new JsonArray(new JsonObject { ["text"] = text }),
                }),
                ["systemInstruction"] = new JsonObject { ["parts"] = new JsonArray(new JsonObject { ["text"] = "Be brief" }) },
                ["generationConfig"] = new JsonObject { ["maxOutputTokens"] = 256, ["temperature"] = 0.2 },
            }),
        };
        if (key is not null)
            request.Headers.Add("x-goog-api-key", key);
        return Http.SendAsync(request, cancellationToken);
    }

    public Task<HttpResponseMessage> OpenAIAsync(
        string target, string text = "Hello there simulator", string? key = "sk-test", string model = "gpt-4o-mini", CancellationToken cancellationToken = default)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, $"{target}/v1/chat/completions")
        {
            Content = JsonContent.Create(new JsonObject
            {
                ["model"] = model,
                ["messages"] = new JsonArray(
                    new JsonObject { ["role"] = "system", ["content"] = "Be brief" },
                    new JsonObject { ["role"] = "user", ["content"] = text }),
                ["max_completion_tokens"] = 256,
                ["reasoning_effort"] = "low",
                ["some_future_field"] = true,
            }),
        };
        if (key is not null)
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", key);
        return Http.SendAsync(request, cancellationToken);
    }

    /// <summary>A chat completions call with a body of the test's own (tools, tool_choice, response_format).</summary>
    public Task<HttpResponseMessage> OpenAIAsync(string target, JsonObject body, string? key = "sk-test")
    {
        var request = new HttpRequestMessage(HttpMethod.Post, $"{target}/v1/chat/completions") { Content = JsonContent.Create(body) };
        if (key is not null)
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", key);
        return Http.SendAsync(request);
    }

    /// <summary>A generateContent call with a body of the test's own (tools, toolConfig, generationConfig).</summary>
    public Task<HttpResponseMessage> GeminiAsync(string target, JsonObject body, string model = "gemini-2.5-flash")
    {
        var request = new HttpRequestMessage(HttpMethod.Post, $"{target}/v1beta/models/{model}:generateContent") { Content = JsonContent.Create(body) };
        request.Headers.Add("x-goog-api-key", "test-key");
        return Http.SendAsync(request);
    }

    /// <summary>An Anthropic Messages call, with the headers the Anthropic SDK sends unless a test leaves them out.</summary>
    public Task<HttpResponseMessage> AnthropicAsync(string target, JsonObject body, string? key = "sk-ant-test", string? version = "2023-06-01")
    {
        var request = new HttpRequestMessage(HttpMethod.Post, $"{target}/v1/messages") { Content = JsonContent.Create(body) };
        if (key is not null)
            request.Headers.Add("x-api-key", key);
        if (version is not null)
            request.Headers.Add("anthropic-version", version);
        return Http.SendAsync(request);
    }

    /// <summary>A minimal valid Messages body: one user message.</summary>
    public static JsonObject AnthropicBody(string text = "Hello there simulator", string model = "claude-sonnet-4-5") => new()
    {
        ["model"] = model,
        ["max_tokens"] = 256,
        ["system"] = "Be brief",
        ["messages"] = new JsonArray(new JsonObject { ["role"] = "user", ["content"] = text }),
    };

    public async ValueTask DisposeAsync()
    {
        Http.Dispose();
        await App.StopAsync();
        await App.DisposeAsync();
    }
}

internal static class JsonBody
{
    public static async Task<JsonNode> ReadJsonAsync(this HttpResponseMessage response) =>
        JsonNode.Parse(await response.Content.ReadAsStringAsync()) ?? throw new InvalidOperationException("null body");
}
