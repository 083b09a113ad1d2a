import pytest

from my_project.shop.models import Product


@pytest.mark.django_db
def test_products_are_stored():
    Product.objects.create(name="Stroopwafel")

    assert [str(product) for product in Product.objects.all()] == ["Stroopwafel"]
