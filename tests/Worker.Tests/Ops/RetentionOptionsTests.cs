using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Worker.Retention;

namespace Worker.Tests.Ops;

public class RetentionOptionsTests
{
    private static RetentionOptions Bind(Dictionary<string, string?> settings)
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(settings).Build();
        var services = new ServiceCollection().AddSingleton<IConfiguration>(configuration).AddLogging().AddRetention().BuildServiceProvider();
        return services.GetRequiredService<IOptions<RetentionOptions>>().Value;
    }

    [Fact]
    public void Defaults_keep_30_days_and_sweep_hourly_in_batches_of_5000()
    {
        var options = Bind([]);

        Assert.Equal(30, options.Days);
        Assert.Equal("0 0 * * * ?", options.Schedule);
        Assert.Equal(5_000, options.BatchSize);
    }

    [Fact]
    public void Days_and_schedule_come_from_the_Retention_section()
    {
        var options = Bind(new() { ["Retention:Days"] = "0", ["Retention:Schedule"] = "0 30 2 * * ?" });

        Assert.Equal(0, options.Days);
        Assert.Equal("0 30 2 * * ?", options.Schedule);
    }

    [Theory]
    [InlineData("Retention:Schedule", "every hour", "Retention:Schedule must be a Quartz cron expression")]
    [InlineData("Retention:Schedule", "0 * * * *", "Retention:Schedule must be a Quartz cron expression")]
    [InlineData("Retention:Days", "-1", "Days")]
    [InlineData("Retention:BatchSize", "0", "BatchSize")]
    public void Bad_settings_stop_the_host_naming_the_key(string key, string value, string message)
    {
        var e = Assert.Throws<OptionsValidationException>(() => Bind(new() { [key] = value }));
        Assert.Contains(message, e.Message);
    }
}
