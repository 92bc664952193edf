package local.hapi;

import ca.uhn.fhir.batch2.jobs.config.Batch2JobsConfig;
import ca.uhn.fhir.jpa.api.config.ThreadPoolFactoryConfig;
import ca.uhn.fhir.jpa.batch2.JpaBatch2Config;
import ca.uhn.fhir.jpa.config.HapiJpaConfig;
import ca.uhn.fhir.jpa.config.r4.JpaR4Config;
import ca.uhn.fhir.jpa.subscription.channel.config.SubscriptionChannelConfig;
import ca.uhn.fhir.jpa.subscription.match.config.SubscriptionProcessorConfig;
import ca.uhn.fhir.jpa.subscription.submit.config.SubscriptionSubmitterConfig;
import org.springframework.boot.SpringApplication;
import org.springframework.boot.autoconfigure.SpringBootApplication;
import org.springframework.boot.autoconfigure.elasticsearch.ElasticsearchRestClientAutoConfiguration;
import org.springframework.boot.autoconfigure.thymeleaf.ThymeleafAutoConfiguration;
import org.springframework.context.annotation.Import;

/**
 * Minimal HAPI FHIR JPA server (R4) for local development and tests: the same engine as the
 * hapiproject/hapi image of the same version, without the starter's optional modules
 * (testpage overlay, CQL, MDM, IPS, OpenAPI, CDS hooks).
 */
// Elasticsearch and Thymeleaf come in transitively (Hibernate Search backend, narratives);
// their Boot auto-configuration is not wanted.
@SpringBootApplication(exclude = {ElasticsearchRestClientAutoConfiguration.class, ThymeleafAutoConfiguration.class})
@Import({
	JpaR4Config.class, // R4 FhirContext, DAOs, resource providers, system DAO; imports JpaConfig
	HapiJpaConfig.class, // search/paging/resource-count beans JpaConfig expects someone to supply
	ThreadPoolFactoryConfig.class, // transaction processor needs a ThreadPoolFactory
	JpaBatch2Config.class, // JpaConfig needs batch2 job persistence at start-up
	Batch2JobsConfig.class, // reindex, expunge, bulk jobs used internally
	SubscriptionSubmitterConfig.class, // rest-hook subscriptions (in-memory channels)
	SubscriptionProcessorConfig.class,
	SubscriptionChannelConfig.class
})
public class HapiServerApplication {

	public static void main(String[] args) {
		SpringApplication.run(HapiServerApplication.class, args);
	}
}
