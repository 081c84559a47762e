using System.ClientModel;
using System.ClientModel.Primitives;
using OpenAI;
using OpenAI.Chat;
using Worker.Simulator;
using Worker.Simulator.Faults;

namespace Worker.Tests.Simulator;

/// <summary>The official OpenAI SDK parses what the simulator writes: the wire format is faithful enough for the real client.</summary>
public sealed class OpenAISdkTests
{
    private static ChatClient Client(RunningSimulator sim) => new(
        "gpt-4o-mini",
        new ApiKeyCredential("sk-test"),
        new OpenAIClientOptions { Endpoint = new Uri(sim.App.GetBaseAddress(), "openai/v1"), RetryPolicy = new ClientRetryPolicy(maxRetries: 0) });

    [Fact]
    public async Task Sdk_reads_text_finish_reason_and_usage()
    {
        await using var sim = await RunningSimulator.StartAsync();

        ChatCompletion completion = await Client(sim).CompleteChatAsync([new UserChatMessage("Hello there simulator")]);

        Assert.Equal("Simulated reply from openai/gpt-4o-mini to: Hello there simulator", completion.Content[0].Text);
        Assert.Equal(ChatFinishReason.Stop, completion.FinishReason);
        Assert.Equal(3, completion.Usage.InputTokenCount);
        Assert.Equal(8, completion.Usage.OutputTokenCount);
    }

    [Fact]
    public async Task Sdk_reads_content_filter_as_finish_reason()
    {
        await using var sim = await RunningSimulator.StartAsync();
        sim.State.SetProfile("openai", FaultProfile.AlwaysFail("safety"));

        ChatCompletion completion = await Client(sim).CompleteChatAsync([new UserChatMessage("hi")]);

        Assert.Equal(ChatFinishReason.ContentFilter, completion.FinishReason);
        Assert.Empty(completion.Content);
    }

    [Fact]
    public async Task Sdk_surfaces_rate_limit_status_and_retry_after_header()
    {
        await using var sim = await RunningSimulator.StartAsync();
        sim.State.SetProfile("openai", new FaultProfile { Always = "429", RetryAfterSeconds = 2 });

        var error = await Assert.ThrowsAsync<ClientResultException>(() => Client(sim).CompleteChatAsync([new UserChatMessage("hi")]));

        Assert.Equal(429, error.Status);
        Assert.True(error.GetRawResponse()!.Headers.TryGetValue("retry-after", out var retryAfter));
        Assert.Equal("2", retryAfter);
        Assert.Equal(1, sim.State.GetCounters("openai").Total);
    }

    [Fact]
    public async Task Sdk_reads_a_tool_call_and_its_arguments()
    {
        await using var sim = await RunningSimulator.StartAsync();
        var tool = ChatTool.CreateFunctionTool("get_weather", "Forecast", BinaryData.FromString(ToolSchemas.Weather().ToJsonString()));
        var options = new ChatCompletionOptions { Tools = { tool }, ToolChoice = ChatToolChoice.CreateFunctionChoice("get_weather") };

        ChatCompletion completion = await Client(sim).CompleteChatAsync([new UserChatMessage("Weather in Paris?")], options);

        Assert.Equal(ChatFinishReason.ToolCalls, completion.FinishReason);
        var call = Assert.Single(completion.ToolCalls);
        Assert.Equal("get_weather", call.FunctionName);
        Assert.Equal(ToolSchemas.WeatherSample, call.FunctionArguments.ToString());
    }
}
