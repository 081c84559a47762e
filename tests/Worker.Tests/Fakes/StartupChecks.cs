using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace Worker.Tests.Fakes;

/// <summary>Runs what the host runs at start (every ValidateOnStart) and returns what Program.cs would print.</summary>
internal static class StartupChecks
{
    /// <summary>Two providers with keys and the shipped default chain: a configuration that starts.</summary>
    public static Dictionary<string, string?> Valid() => new(StringComparer.OrdinalIgnoreCase)
    {
        ["ConnectionStrings:RabbitMq"] = "amqp://guest:guest@localhost:5672/",
        ["ConnectionStrings:Postgres"] = "Host=localhost;Database=llm_worker;Username=worker;Password=worker",
        ["Providers:gemini:Kind"] = "Gemini",
        ["Providers:gemini:BaseUrl"] = "https://generativelanguage.googleapis.com",
        ["Providers:openai:Kind"] = "OpenAI",
        ["Providers:openai:BaseUrl"] = "https://api.openai.com/v1",
        ["GEMINI_API_KEY"] = "test-gemini-key",
        ["OPENAI_API_KEY"] = "test-openai-key",
        ["Chains:default:0:Provider"] = "gemini",
        ["Chains:default:0:Model"] = "gemini-2.5-pro",
        ["Chains:default:1:Provider"] = "openai",
        ["Chains:default:1:Model"] = "o3-mini",
    };

    /// <summary><see cref="Valid"/> with these settings changed; a null value removes the setting.</summary>
    public static Dictionary<string, string?> ValidWith(params (string Key, string? Value)[] changes)
    {
        var settings = Valid();
        foreach (var (key, value) in changes)
        {
            if (value is null)
            {
                settings.Remove(key);
            }
            else
            {
                settings[key] = value;
            }
        }

        return settings;
    }

    public static IReadOnlyList<string> Problems(Dictionary<string, string?> settings, Action<IServiceCollection, IConfiguration> register)
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(settings).Build();
        var services = new ServiceCollection().AddSingleton<IConfiguration>(configuration).AddLogging();
        register(services, configuration);
        using var provider = services.BuildServiceProvider();
        try
        {
            provider.GetRequiredService<IStartupValidator>().Validate();
            return [];
        }
        catch (Exception e) when (ConfigurationProblems.Of(e) is { Count: > 0 } problems)
        {
            return problems;
        }
    }
}
