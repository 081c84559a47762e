using System.Text.Json;
using Anthropic;
using Anthropic.Exceptions;
using Anthropic.Models.Messages;
using Worker.Simulator;
using Worker.Simulator.Faults;

namespace Worker.Tests.Simulator;

/// <summary>The official Anthropic SDK parses what the simulator writes: base URL, headers and bodies are faithful enough for the real client.</summary>
public sealed class AnthropicSdkTests
{
    private static AnthropicClient Client(RunningSimulator sim) => new()
    {
        ApiKey = "sk-ant-test",
        BaseUrl = new Uri(sim.App.GetBaseAddress(), "anthropic").ToString(),
        MaxRetries = 0,
    };

    [Fact]
    public async Task Sdk_reads_text_stop_reason_and_usage()
    {
        await using var sim = await RunningSimulator.StartAsync();

        var message = await Client(sim).Messages.Create(new MessageCreateParams
        {
            Model = "claude-sonnet-4-5",
            MaxTokens = 256,
            Messages = [new UserMessageParam { Content = "Hello there simulator" }],
        });

        Assert.True(message.Content[0].TryPickText(out var text));
        Assert.Equal("Simulated reply from anthropic/claude-sonnet-4-5 to: Hello there simulator", text.Text);
        Assert.Equal(StopReason.EndTurn, message.StopReason?.Value());
        Assert.Equal(3, message.Usage.InputTokens);
        Assert.Equal(8, message.Usage.OutputTokens);
    }

    [Fact]
    public async Task Sdk_reads_a_forced_tool_use()
    {
        await using var sim = await RunningSimulator.StartAsync();

        var message = await Client(sim).Messages.Create(new MessageCreateParams
        {
            Model = "claude-sonnet-4-5",
            MaxTokens = 256,
            Tools =
            [
                new Tool
                {
                    Name = "get_weather",
                    InputSchema = new InputSchema
                    {
                        Properties = new Dictionary<string, JsonElement>
                        {
                            ["city"] = JsonSerializer.SerializeToElement(new { type = "string" }),
                        },
                        Required = ["city"],
                    },
                },
            ],
            ToolChoice = new ToolChoiceTool { Name = "get_weather" },
            Messages = [new UserMessageParam { Content = "Weather in Paris?" }],
        });

        Assert.Equal(StopReason.ToolUse, message.StopReason?.Value());
        Assert.True(message.Content[0].TryPickToolUse(out var toolUse));
        Assert.Equal("get_weather", toolUse.Name);
        Assert.Equal("sample", toolUse.Input["city"].GetString());
    }

    [Fact]
    public async Task Sdk_surfaces_overloaded_as_status_529()
    {
        await using var sim = await RunningSimulator.StartAsync();
        sim.State.SetProfile("anthropic", FaultProfile.AlwaysFail("503"));

        var error = await Assert.ThrowsAnyAsync<AnthropicApiException>(() => Client(sim).Messages.Create(new MessageCreateParams
        {
            Model = "claude-sonnet-4-5",
            MaxTokens = 256,
            Messages = [new UserMessageParam { Content = "hi" }],
        }));

        Assert.Equal(529, (int)error.StatusCode);
        Assert.Equal(1, sim.State.GetCounters("anthropic").Total);
    }
}
